"""ServeCluster: the serve app (OpenAI-compatible gateway) on Fargate behind a public HTTPS ALB, autoscaled."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam_policies
from components.https_service import AppServiceArgs, HttpsService, HttpsServiceArgs
from core import naming
from core.config import ServeConfig

SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300  # slow to give capacity back: streams are long-lived


def request_count_label(alb_arn_suffix: str, target_group_arn_suffix: str) -> str:
    """The ResourceLabel of ALBRequestCountPerTarget: app/<lb>/<id>/targetgroup/<tg>/<id>."""
    return f"{alb_arn_suffix}/{target_group_arn_suffix}"


@dataclass(frozen=True)
class ServeClusterArgs:
    service: AppServiceArgs
    serve: ServeConfig
    grants: pulumi.Input[iam_policies.ServeGrants]

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
        ctx, serve = args.service.context, args.serve
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(f"{name}-cluster", name=naming.serve_cluster(ctx.deployment, ctx.stage_name),
                                  settings=[{"name": "containerInsights", "value": "enabled"}], opts=child)
        account = pulumi.Output.from_input(ctx.account_id).apply(
            lambda a: iam_policies.Account(ctx.partition, ctx.region, a))
        service = HttpsService(f"{name}-app", HttpsServiceArgs(
            service=args.service, app="serve", alb_name=naming.serve_alb(ctx.deployment, ctx.stage_name),
            cluster_arn=cluster.arn, cpu=serve.cpu, memory_mib=serve.memory_mib, desired_count=serve.min_tasks,
            url_key="serveUrl",
            task_policy=pulumi.Output.all(account, args.grants).apply(lambda v: iam_policies.serve_task_policy(*v)),
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
