"""ServeCluster: the serve app (OpenAI-compatible gateway) on Fargate behind a public HTTPS ALB, autoscaled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from components import iam_policies
from components.https_service import HttpsService, HttpsServiceArgs
from components.stage_context import StageContext
from core import naming
from core.config import CertificateConfig, ServeConfig

SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300  # slow to give capacity back: streams are long-lived


def request_count_label(alb_arn_suffix: str, target_group_arn_suffix: str) -> str:
    """The ResourceLabel of ALBRequestCountPerTarget: app/<lb>/<id>/targetgroup/<tg>/<id>."""
    return f"{alb_arn_suffix}/{target_group_arn_suffix}"


@dataclass(frozen=True)
class ServeClusterArgs:
    context: StageContext
    serve: ServeConfig
    certificate: CertificateConfig
    vpc_id: pulumi.Input[str]
    alb_subnet_ids: pulumi.Input[list[str]]
    private_subnet_ids: pulumi.Input[list[str]]
    internet_facing: bool
    alb_security_group_id: pulumi.Input[str]
    task_security_group_id: pulumi.Input[str]
    image: pulumi.Input[str]
    ecr_repository_arns: pulumi.Input[list[str]]
    kms_key_arn: pulumi.Input[str]
    grants: pulumi.Input[iam_policies.ServeGrants]
    platform: pulumi.Input[Mapping[str, Any]]
    web_url: pulumi.Input[str] | None = None
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.serve.min_tasks > self.serve.max_tasks:
            raise ValueError("serve minTasks must not exceed maxTasks")


class ServeCluster(pulumi.ComponentResource):
    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    url: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:ServeCluster", name, None, opts)
        ctx, serve = args.context, args.serve
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(f"{name}-cluster", name=naming.serve_cluster(ctx.deployment, ctx.stage_name),
                                  settings=[{"name": "containerInsights", "value": "enabled"}], opts=child)
        account = pulumi.Output.from_input(ctx.account_id).apply(
            lambda a: iam_policies.Account(ctx.partition, ctx.region, a))
        service = HttpsService(f"{name}-app", HttpsServiceArgs(
            context=ctx, app="serve", alb_name=naming.serve_alb(ctx.deployment, ctx.stage_name),
            cluster_arn=cluster.arn, vpc_id=args.vpc_id, alb_subnet_ids=args.alb_subnet_ids,
            task_subnet_ids=args.private_subnet_ids, internet_facing=args.internet_facing,
            alb_security_group_id=args.alb_security_group_id, task_security_group_id=args.task_security_group_id,
            certificate=args.certificate, image=args.image, ecr_repository_arns=args.ecr_repository_arns,
            cpu=serve.cpu, memory_mib=serve.memory_mib, desired_count=serve.min_tasks, kms_key_arn=args.kms_key_arn,
            platform=args.platform, url_key="serveUrl",
            task_policy=pulumi.Output.all(account, args.grants).apply(lambda v: iam_policies.serve_task_policy(*v)),
            log_level=args.log_level, web_url=args.web_url,
            deregistration_delay=120,  # let in-flight streams finish during a deployment
        ), opts=child)
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.all(cluster.name, service.service_name).apply(lambda v: f"service/{v[0]}/{v[1]}"),
            min_capacity=serve.min_tasks, max_capacity=serve.max_tasks, opts=child)
        aws.appautoscaling.Policy(
            f"{name}-requests-per-task", policy_type="TargetTrackingScaling", service_namespace="ecs",
            scalable_dimension=target.scalable_dimension, resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": serve.target_requests_per_task,
                "predefined_metric_specification": {
                    "predefined_metric_type": "ALBRequestCountPerTarget",
                    "resource_label": pulumi.Output.all(service.load_balancer_arn_suffix,
                                                        service.target_group_arn_suffix).apply(
                        lambda v: request_count_label(*v)),
                },
                "scale_out_cooldown": SCALE_OUT_COOLDOWN,
                "scale_in_cooldown": SCALE_IN_COOLDOWN,
            }, opts=child)
        self.cluster_arn, self.cluster_name = cluster.arn, cluster.name
        self.url = service.url
        self.task_role_arn = service.task_role_arn
        self.register_outputs({"url": self.url, "clusterArn": self.cluster_arn})
