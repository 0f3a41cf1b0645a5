"""What an EC2 instance type offers a model task: GPUs, vCPUs, memory, and which ECS-optimised AMI it boots.

One model task takes a whole instance (all its GPUs), so the task definition is sized from this table. Types the
table does not know are refused before any resource exists, rather than failing minutes later in ECS placement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id"
CPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id"


@dataclass(frozen=True)
class InstanceShape:
    gpus: int
    vcpus: int
    memory_gib: int

    @property
    def ami_parameter(self) -> str:
        return GPU_AMI_PARAMETER if self.gpus else CPU_AMI_PARAMETER


# NVIDIA GPU instances: size → (GPUs, vCPUs, memory GiB), from the EC2 instance type pages.
_G5_LIKE = {
    "xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64), "8xlarge": (1, 32, 128),
    "16xlarge": (1, 64, 256), "12xlarge": (4, 48, 192), "24xlarge": (4, 96, 384), "48xlarge": (8, 192, 768),
}
_GPU_FAMILIES: dict[str, dict[str, tuple[int, int, int]]] = {
    "g4dn": {
        "xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64), "8xlarge": (1, 32, 128),
        "16xlarge": (1, 64, 256), "12xlarge": (4, 48, 192), "metal": (8, 96, 384),
    },
    "g5": _G5_LIKE,
    "g6": _G5_LIKE,
    "g6e": {
        "xlarge": (1, 4, 32), "2xlarge": (1, 8, 64), "4xlarge": (1, 16, 128), "8xlarge": (1, 32, 256),
        "16xlarge": (1, 64, 512), "12xlarge": (4, 48, 384), "24xlarge": (4, 96, 768), "48xlarge": (8, 192, 1536),
    },
    "p3": {"2xlarge": (1, 8, 61), "8xlarge": (4, 32, 244), "16xlarge": (8, 64, 488)},
    "p3dn": {"24xlarge": (8, 96, 768)},
    "p4d": {"24xlarge": (8, 96, 1152)},
    "p4de": {"24xlarge": (8, 96, 1152)},
    "p5": {"48xlarge": (8, 192, 2048)},
}

# CPU instances (e.g. an embedding model on TEI's CPU image): memory is vCPUs × GiB-per-vCPU of the family.
_CPU_GIB_PER_VCPU = {"m5": 4, "m6i": 4, "m7i": 4, "c5": 2, "c6i": 2, "c7i": 2, "r5": 8, "r6i": 8, "r7i": 8}
_CPU_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64,
              "24xlarge": 96}


def known_families() -> list[str]:
    return sorted(_GPU_FAMILIES) + sorted(_CPU_GIB_PER_VCPU)


def known_instance_types() -> list[str]:
    """Every instance type the table sizes (what a hosted model may run on)."""
    gpu = [f"{family}.{size}" for family, sizes in _GPU_FAMILIES.items() for size in sizes]
    cpu = [f"{family}.{size}" for family in _CPU_GIB_PER_VCPU for size in _CPU_SIZES]
    return sorted(gpu + cpu)


def instance_shape(instance_type: str) -> InstanceShape:
    """The shape of `instance_type`; ValueError naming the known families when it is not in the table."""
    match = re.fullmatch(r"([a-z][a-z0-9]*)\.([a-z0-9]+)", instance_type)
    family, size = match.groups() if match else ("", "")
    if family in _GPU_FAMILIES and size in _GPU_FAMILIES[family]:
        gpus, vcpus, memory = _GPU_FAMILIES[family][size]
        return InstanceShape(gpus, vcpus, memory)
    if family in _CPU_GIB_PER_VCPU and size in _CPU_SIZES:
        vcpus = _CPU_SIZES[size]
        return InstanceShape(0, vcpus, vcpus * _CPU_GIB_PER_VCPU[family])
    raise ValueError(
        f"instanceType: {instance_type!r} is not a supported instance type; use a size of one of "
        f"{', '.join(known_families())}"
    )


def task_memory_mib(shape: InstanceShape) -> int:
    """The memory a model task reserves: what ECS can place on the instance, with room for the OS and the agent."""
    return int(shape.memory_gib * 1024 * 0.9) - 512
