"""What every component needs to know about the stage it is part of: names, region, partition, account, policy."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from core import naming
from core.config import RemovalPolicy, Stage

# Log retention per stage: short where nobody audits, a year where someone will.
_LOG_RETENTION_DAYS = {Stage.DEV: 14, Stage.TEST: 30, Stage.PROD: 365}


def partition_for(region: str) -> str:
    """The ARN partition of a region (aws, aws-us-gov, aws-cn, aws-iso, aws-iso-b)."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


@dataclass(frozen=True)
class StageContext:
    deployment: str
    stage: Stage
    region: str
    account_id: pulumi.Input[str]
    removal_policy: RemovalPolicy

    def __post_init__(self) -> None:
        if not self.deployment or not self.region:
            raise ValueError("a stage context needs a deployment name and a region")

    @property
    def stage_name(self) -> str:
        return self.stage.value

    @property
    def prefix(self) -> str:
        return naming.prefix(self.deployment, self.stage_name)

    @property
    def partition(self) -> str:
        return partition_for(self.region)

    @property
    def retain(self) -> bool:
        return self.removal_policy is RemovalPolicy.RETAIN

    @property
    def log_retention_days(self) -> int:
        return _LOG_RETENTION_DAYS[self.stage]

    @property
    def dns_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
