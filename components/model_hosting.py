"""ModelHosting: what every hosted model shares — GPU ECS cluster, internal model ALB + listener, roles, SGs.

Its `outputs` are exactly core.platform.ModelHostingOutputs, the inputs of the HostedModel provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import pulumi
import pulumi_aws as aws

from components import iam_policies
from components.stage_context import StageContext
from core import naming

MODEL_LISTENER_PORT = 80
# Streaming generations run long; the ALB must not cut a quiet stream.
MODEL_ALB_IDLE_TIMEOUT = 600
NO_MODEL_BODY = json.dumps({"error": "no model matches this request"})


@dataclass(frozen=True)
class ModelHostingArgs:
    context: StageContext
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    # Who may call the model ALB: the serve and api tasks.
    client_security_group_ids: tuple[pulumi.Input[str], ...]
    models_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    # The models table: model schedules (EventBridge Scheduler) write their start/stop requests to its items.
    models_table_arn: pulumi.Input[str] | None = None
    # ECR repositories (names in this account and region) model images may come from.
    image_repositories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.client_security_group_ids:
            raise ValueError("the model ALB needs at least one client security group")


class ModelHosting(pulumi.ComponentResource):
    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    load_balancer_arn: pulumi.Output[str]
    listener_arn: pulumi.Output[str]
    instance_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]
    instance_security_group_id: pulumi.Output[str]
    outputs: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, args: ModelHostingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:ModelHosting", name, None, opts)
        self._name, self._ctx = name, args.context
        ctx = args.context
        account = pulumi.Output.from_input(ctx.account_id).apply(
            lambda a: iam_policies.Account(ctx.partition, ctx.region, a))
        image_repository_arns = account.apply(
            lambda a: sorted(a.arn("ecr", f"repository/{name}") for name in args.image_repositories))
        cluster = aws.ecs.Cluster(f"{name}-cluster", name=naming.gpu_cluster(ctx.deployment, ctx.stage_name),
                                  settings=[{"name": "containerInsights", "value": "enabled"}], opts=self._opts())
        alb_sg, instance_sg = self._security_groups(args)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb", name=naming.model_alb(ctx.deployment, ctx.stage_name), internal=True,
            load_balancer_type="application", subnets=args.private_subnet_ids, security_groups=[alb_sg.id],
            drop_invalid_header_fields=True, idle_timeout=MODEL_ALB_IDLE_TIMEOUT,
            enable_deletion_protection=ctx.retain, opts=self._opts())
        # Model stacks add one listener rule per model; anything else is a JSON 404.
        listener = aws.lb.Listener(
            f"{name}-listener", load_balancer_arn=alb.arn, port=MODEL_LISTENER_PORT, protocol="HTTP",
            default_actions=[{"type": "fixed-response", "fixed_response": {
                "status_code": "404", "content_type": "application/json", "message_body": NO_MODEL_BODY}}],
            opts=self._opts())
        log_prefix = naming.model_log_group_prefix(ctx.deployment, ctx.stage_name)
        instance_role = self._role("instance", naming.model_instance_role, lambda a: iam_policies.ec2_trust(),
                                   pulumi.Output.all(account, cluster.arn, cluster.name).apply(
                                       lambda v: iam_policies.model_instance_policy(
                                           v[0], cluster_arn=v[1], cluster_name=v[2], log_group_prefix=log_prefix)))
        profile = aws.iam.InstanceProfile(f"{name}-instance-profile", name=naming.model_instance_role(
            ctx.deployment, ctx.stage_name), role=instance_role.name, opts=self._opts())
        task_role = self._role("task", naming.model_task_role, iam_policies.ecs_tasks_trust,
                               pulumi.Output.all(account, args.models_bucket_arn, args.kms_key_arn).apply(
                                   lambda v: iam_policies.model_task_policy(
                                       v[0], models_bucket_arn=v[1], kms_key_arn=v[2])))
        execution_role = self._role("execution", naming.model_execution_role, iam_policies.ecs_tasks_trust,
                                    pulumi.Output.all(account, image_repository_arns).apply(
                                        lambda v: iam_policies.model_execution_policy(
                                            v[0], log_group_prefix=log_prefix, image_repository_arns=v[1])))
        scheduler_role_arn: pulumi.Input[str | None] = None
        if args.models_table_arn is not None:
            scheduler_role_arn = self._role(
                "scheduler", naming.model_scheduler_role, iam_policies.scheduler_trust,
                pulumi.Output.all(account, args.models_table_arn, args.kms_key_arn).apply(
                    lambda v: iam_policies.model_scheduler_policy(v[0], models_table_arn=v[1], kms_key_arn=v[2]))).arn
        self.scheduler_role_arn = scheduler_role_arn
        self.cluster_arn, self.cluster_name = cluster.arn, cluster.name
        self.load_balancer_arn, self.listener_arn = alb.arn, listener.arn
        self.instance_role_arn, self.task_role_arn = instance_role.arn, task_role.arn
        self.execution_role_arn = execution_role.arn
        self.instance_security_group_id = instance_sg.id
        self.outputs = pulumi.Output.all(
            clusterName=cluster.name,
            clusterArn=cluster.arn,
            loadBalancerArn=alb.arn,
            listenerArn=listener.arn,
            loadBalancerDnsName=alb.dns_name,
            loadBalancerSecurityGroupId=alb_sg.id,
            vpcId=args.vpc_id,
            privateSubnetIds=args.private_subnet_ids,
            instanceSecurityGroupIds=pulumi.Output.all(instance_sg.id),
            instanceProfileArn=profile.arn,
            taskRoleArn=task_role.arn,
            executionRoleArn=execution_role.arn,
            listenerProtocol="HTTP",
            imageRepositoryArns=image_repository_arns,
            schedulerRoleArn=scheduler_role_arn,
        )
        self.register_outputs({"outputs": self.outputs})

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _security_groups(self, args: ModelHostingArgs) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        n, prefix = self._name, self._ctx.prefix
        alb_sg = aws.ec2.SecurityGroup(f"{n}-alb-sg", vpc_id=args.vpc_id,
                                       description="model ALB: from the serve and api tasks only",
                                       tags={"Name": f"{prefix}-model-alb"}, opts=self._opts())
        instance_sg = aws.ec2.SecurityGroup(f"{n}-instances-sg", vpc_id=args.vpc_id,
                                            description="GPU instances: from the model ALB only",
                                            tags={"Name": f"{prefix}-model-instances"}, opts=self._opts())
        for i, client in enumerate(args.client_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{n}-alb-from-client-{i}", security_group_id=alb_sg.id, referenced_security_group_id=client,
                ip_protocol="tcp", from_port=MODEL_LISTENER_PORT, to_port=MODEL_LISTENER_PORT,
                description="model requests from the apps", opts=self._opts())
        # Containers on EC2 use dynamic host ports, so the ALB reaches the instances on the whole TCP range.
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-alb-to-instances", security_group_id=alb_sg.id, referenced_security_group_id=instance_sg.id,
            ip_protocol="tcp", from_port=0, to_port=65535, description="to the model containers", opts=self._opts())
        aws.vpc.SecurityGroupIngressRule(
            f"{n}-instances-from-alb", security_group_id=instance_sg.id, referenced_security_group_id=alb_sg.id,
            ip_protocol="tcp", from_port=0, to_port=65535, description="from the model ALB", opts=self._opts())
        aws.vpc.SecurityGroupEgressRule(
            f"{n}-instances-egress", security_group_id=instance_sg.id, cidr_ipv4="0.0.0.0/0", ip_protocol="-1",
            description="images, weights, ECS and AWS APIs", opts=self._opts())
        return alb_sg, instance_sg

    def _role(self, kind: str, role_name: Callable[[str, str], str], trust: Callable[[str], dict],
              policy: pulumi.Output[dict]) -> aws.iam.Role:
        ctx = self._ctx
        role = aws.iam.Role(
            f"{self._name}-{kind}-role", name=role_name(ctx.deployment, ctx.stage_name),
            assume_role_policy=pulumi.Output.from_input(ctx.account_id).apply(lambda a: iam_policies.to_json(trust(a))),
            opts=self._opts())
        aws.iam.RolePolicy(f"{self._name}-{kind}-policy", role=role.id, policy=policy.apply(iam_policies.to_json),
                           opts=self._opts())
        return role
