"""ControlPlane: the api app (models admin API, sessions, RAG, the deployment engine) on Fargate behind HTTPS.

Its task role holds what running the model stacks needs (see iam_policies.control_plane_task_policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pulumi

from components import iam_policies
from components.https_service import HttpsService, HttpsServiceArgs
from components.stage_context import StageContext
from core import naming
from core.config import CertificateConfig, ServeConfig


@dataclass(frozen=True)
class ControlPlaneArgs:
    context: StageContext
    sizing: ServeConfig
    certificate: CertificateConfig
    cluster_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    alb_subnet_ids: pulumi.Input[list[str]]
    private_subnet_ids: pulumi.Input[list[str]]
    internet_facing: bool
    alb_security_group_id: pulumi.Input[str]
    task_security_group_id: pulumi.Input[str]
    image: pulumi.Input[str]
    ecr_repository_arns: pulumi.Input[list[str]]
    kms_key_arn: pulumi.Input[str]
    kms_key_alias: str
    grants: pulumi.Input[iam_policies.ControlPlaneGrants]
    platform: pulumi.Input[Mapping[str, Any]]
    web_url: pulumi.Input[str] | None = None
    log_level: str = "INFO"


class ControlPlane(pulumi.ComponentResource):
    url: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:ControlPlane", name, None, opts)
        ctx = args.context
        account = pulumi.Output.from_input(ctx.account_id).apply(
            lambda a: iam_policies.Account(ctx.partition, ctx.region, a))
        service = HttpsService(f"{name}-app", HttpsServiceArgs(
            context=ctx, app="api", alb_name=naming.api_alb(ctx.deployment, ctx.stage_name),
            cluster_arn=args.cluster_arn, vpc_id=args.vpc_id, alb_subnet_ids=args.alb_subnet_ids,
            task_subnet_ids=args.private_subnet_ids, internet_facing=args.internet_facing,
            alb_security_group_id=args.alb_security_group_id, task_security_group_id=args.task_security_group_id,
            certificate=args.certificate, image=args.image, ecr_repository_arns=args.ecr_repository_arns,
            cpu=args.sizing.cpu, memory_mib=args.sizing.memory_mib,
            # One task: it runs the deployment jobs, and two job runners would race for the same model stacks.
            desired_count=1, minimum_healthy_percent=0, maximum_percent=100,
            kms_key_arn=args.kms_key_arn, platform=args.platform, url_key="apiUrl",
            task_policy=pulumi.Output.all(account, args.grants).apply(
                lambda v: iam_policies.control_plane_task_policy(*v)),
            log_level=args.log_level, web_url=args.web_url,
            extra_environment={
                # The model stacks' Pulumi secrets are encrypted with the stage key (no passphrase to keep).
                "LISA_PULUMI_SECRETS_PROVIDER": f"awskms://{args.kms_key_alias}?region={ctx.region}",
            },
        ), opts=pulumi.ResourceOptions(parent=self))
        self.url = service.url
        self.task_role_arn = service.task_role_arn
        self.register_outputs({"url": self.url, "taskRoleArn": self.task_role_arn})
