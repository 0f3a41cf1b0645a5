"""The instance types a hosted model may run on here: those the platform knows how to size (GPUs, vCPUs, memory,
providers/instance_types.py) that the region offers (EC2 DescribeInstanceTypeOfferings, read once an hour)."""

from __future__ import annotations

import threading
import time

from core import aws
from providers.instance_types import instance_shape, known_instance_types
from services.api.model_wire import InstanceType


class InstanceCatalog:
    def __init__(self, *, ttl_s: float = 3600.0) -> None:
        self.ttl_s = ttl_s
        self._offered: list[str] | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        with self._lock:
            if self._offered is None or time.monotonic() - self._read_at > self.ttl_s:
                self._offered = self._read()
                self._read_at = time.monotonic()
            return list(self._offered)

    def details(self) -> list[InstanceType]:
        out = []
        for name in self.names():
            shape = instance_shape(name)
            out.append(InstanceType(instance_type=name, gpus=shape.gpus, vcpus=shape.vcpus, memory_gib=shape.memory_gib))
        return out

    @staticmethod
    def _read() -> list[str]:
        known = set(known_instance_types())
        offered: set[str] = set()
        paginator = aws.client("ec2").get_paginator("describe_instance_type_offerings")
        for page in paginator.paginate(LocationType="region"):
            offered.update(o["InstanceType"] for o in page["InstanceTypeOfferings"])
        return sorted(known & offered)
