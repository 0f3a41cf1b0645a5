"""ControlPlane: the api app (models admin API, sessions, RAG, the deployment engine) on Fargate behind HTTPS.

Its task role holds what running the model stacks needs (see iam_policies.control_plane_task_policy).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import iam_policies
from components.https_service import AppServiceArgs, HttpsService, HttpsServiceArgs
from core import naming
from core.config import ServeConfig


@dataclass(frozen=True)
class ControlPlaneArgs:
    service: AppServiceArgs
    sizing: ServeConfig
    cluster_arn: pulumi.Input[str]  # the serve cluster: the api's one task runs beside serve's
    kms_key_alias: str
    grants: pulumi.Input[iam_policies.ControlPlaneGrants]


class ControlPlane(pulumi.ComponentResource):
    url: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:ControlPlane", name, None, opts)
        ctx = args.service.context
        account = pulumi.Output.from_input(ctx.account_id).apply(
            lambda a: iam_policies.Account(ctx.partition, ctx.region, a))
        service = HttpsService(f"{name}-app", HttpsServiceArgs(
            service=args.service, app="api", alb_name=naming.api_alb(ctx.deployment, ctx.stage_name),
            cluster_arn=args.cluster_arn, cpu=args.sizing.cpu, memory_mib=args.sizing.memory_mib,
            # One task: it runs the deployment jobs, and two job runners would race for the same model stacks.
            desired_count=1, minimum_healthy_percent=0, maximum_percent=100, url_key="apiUrl",
            task_policy=pulumi.Output.all(account, args.grants).apply(
                lambda v: iam_policies.control_plane_task_policy(*v)),
            extra_environment={
                # The model stacks' Pulumi secrets are encrypted with the stage key (no passphrase to keep).
                "LISA_PULUMI_SECRETS_PROVIDER": f"awskms://{args.kms_key_alias}?region={ctx.region}",
            },
        ), opts=pulumi.ResourceOptions(parent=self))
        self.url = service.url
        self.task_role_arn = service.task_role_arn
        self.register_outputs({"url": self.url, "taskRoleArn": self.task_role_arn})
