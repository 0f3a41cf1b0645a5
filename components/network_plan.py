"""The arithmetic of a new VPC: subnet CIDRs per AZ, NAT placement, endpoint service names. No Pulumi here."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

AZ_COUNT = 2
# Gateway endpoints are free and keep S3/DynamoDB traffic off the NAT; interface endpoints let tasks pull images,
# ship logs, read secrets and assume roles without the internet.
GATEWAY_ENDPOINTS = ("s3", "dynamodb")
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts")

Tier = Literal["private", "public"]


@dataclass(frozen=True)
class SubnetPlan:
    tier: Tier
    index: int  # the AZ index
    cidr: str

    @property
    def logical_name(self) -> str:
        return f"{self.tier}-{self.index}"


def plan_subnets(vpc_cidr: str, az_count: int = AZ_COUNT) -> list[SubnetPlan]:
    """Split the VPC into 2 × az_count equal blocks: first the private ones (tasks, stores), then public (ALBs, NAT)."""
    if az_count < 1:
        raise ValueError("at least one availability zone is needed")
    network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    blocks_needed = 2 * az_count
    extra_bits = (blocks_needed - 1).bit_length()
    if network.prefixlen + extra_bits > 28:
        raise ValueError(f"{vpc_cidr} is too small for {blocks_needed} subnets")
    blocks = list(network.subnets(prefixlen_diff=extra_bits))
    private = [SubnetPlan("private", i, str(blocks[i])) for i in range(az_count)]
    public = [SubnetPlan("public", i, str(blocks[az_count + i])) for i in range(az_count)]
    return private + public


def nat_for_private_subnet(nat_gateways: int, az_count: int = AZ_COUNT) -> list[int]:
    """For each private subnet (by AZ index), the index of the NAT gateway its default route uses."""
    if not 1 <= nat_gateways <= az_count:
        raise ValueError(f"nat gateways must be between 1 and {az_count}")
    # With one NAT everything leaves through AZ 0; with one per AZ each subnet stays in its own AZ.
    return [i if nat_gateways == az_count else 0 for i in range(az_count)]


def endpoint_service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def alb_is_internet_facing(public_subnet_ids: list[str] | None, creates_vpc: bool) -> bool:
    """A new VPC has public subnets; an existing VPC without them gets internal ALBs (reachable from the VPC only)."""
    return creates_vpc or bool(public_subnet_ids)
