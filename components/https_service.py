"""HttpsService: one app (serve or api) on Fargate in private subnets behind its own HTTPS ALB.

ServeCluster and ControlPlane are each one of these plus what differs (autoscaling; the api's deployment rights).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from components import app_containers, iam_policies
from components.app_containers import ALB_IDLE_TIMEOUT_S, APP_PORT, HEALTH_PATH, App
from components.self_signed import self_signed_certificate
from components.stage_context import StageContext
from core import naming
from core.config import CertificateConfig

# TLS 1.3 with TLS 1.2 fallback, forward secrecy only.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class AppServiceArgs:
    """What each app service (ServeCluster, ControlPlane) takes alike: where it runs and behind which ALB, which
    image, the key it encrypts with, and what it reads at start."""

    context: StageContext
    certificate: CertificateConfig
    vpc_id: pulumi.Input[str]
    alb_subnet_ids: pulumi.Input[list[str]]
    private_subnet_ids: pulumi.Input[list[str]]  # where the tasks run
    internet_facing: bool
    alb_security_group_id: pulumi.Input[str]
    task_security_group_id: pulumi.Input[str]
    image: pulumi.Input[str]
    ecr_repository_arns: pulumi.Input[list[str]]
    kms_key_arn: pulumi.Input[str]
    # The app's view of core.platform.PlatformOutputs; its service adds its own URL.
    platform: pulumi.Input[Mapping[str, Any]]
    web_url: pulumi.Input[str] | None = None  # the chat UI's origin, allowed by CORS
    log_level: str = "INFO"


@dataclass(frozen=True)
class HttpsServiceArgs:
    service: AppServiceArgs
    app: App
    alb_name: str
    cluster_arn: pulumi.Input[str]
    cpu: int
    memory_mib: int
    desired_count: int
    url_key: str  # where the platform document gets this service's URL
    task_policy: pulumi.Input[Mapping[str, Any]]
    extra_environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    deregistration_delay: int = 30
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200

    def __post_init__(self) -> None:
        if not 1 <= len(self.alb_name) <= 32:
            raise ValueError(f"ALB names are 1-32 characters: {self.alb_name!r}")
        if self.desired_count < 1:
            raise ValueError("desired_count must be at least 1")
        if not 0 <= self.minimum_healthy_percent <= 100 <= self.maximum_percent:
            raise ValueError("deployment percentages must satisfy 0 <= minimum <= 100 <= maximum")


class HttpsService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    service_name: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    certificate_arn: pulumi.Output[str]

    def __init__(self, name: str, args: HttpsServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:HttpsService", name, None, opts)
        self._name, self._ctx, self._args = name, args.service.context, args
        ctx, app, s = args.service.context, args.app, args.service
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=naming.app_log_group(ctx.deployment, ctx.stage_name, app),
            retention_in_days=ctx.log_retention_days, opts=self._opts())
        alb = aws.lb.LoadBalancer(
            f"{name}-alb", name=args.alb_name, internal=not s.internet_facing, load_balancer_type="application",
            subnets=s.alb_subnet_ids, security_groups=[s.alb_security_group_id],
            drop_invalid_header_fields=True, idle_timeout=ALB_IDLE_TIMEOUT_S, enable_deletion_protection=ctx.retain,
            opts=self._opts())
        self.url = alb.dns_name.apply(lambda dns: f"https://{dns}")
        target_group = aws.lb.TargetGroup(
            f"{name}-tg", port=APP_PORT, protocol="HTTP", target_type="ip", vpc_id=s.vpc_id,
            deregistration_delay=args.deregistration_delay,
            health_check={"path": HEALTH_PATH, "matcher": "200", "interval": 15, "healthy_threshold": 2,
                          "unhealthy_threshold": 3},
            opts=self._opts())
        self.certificate_arn = self._certificate(alb)
        https = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS", ssl_policy=SSL_POLICY,
            certificate_arn=self.certificate_arn,
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}], opts=self._opts())
        aws.lb.Listener(
            f"{name}-http-redirect", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
            default_actions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                               "status_code": "HTTP_301"}}], opts=self._opts())
        platform_json = pulumi.Output.all(s.platform, self.url).apply(
            lambda v: json.dumps({**v[0], args.url_key: v[1]}, sort_keys=True))
        secret_arn = self._platform_secret(platform_json)
        execution_role, task_role = self._roles(log_group, secret_arn)
        self.task_role_arn = task_role.arn
        task_definition = self._task_definition(log_group, secret_arn, platform_json, execution_role, task_role)
        service = aws.ecs.Service(
            f"{name}-service", name=f"{ctx.prefix}-{app}", cluster=args.cluster_arn,
            task_definition=task_definition.arn, desired_count=args.desired_count, launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration={"subnets": s.private_subnet_ids, "security_groups": [s.task_security_group_id],
                                   "assign_public_ip": False},
            load_balancers=[{"target_group_arn": target_group.arn, "container_name": app, "container_port": APP_PORT}],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=args.minimum_healthy_percent,
            deployment_maximum_percent=args.maximum_percent,
            health_check_grace_period_seconds=60, propagate_tags="SERVICE", enable_ecs_managed_tags=True,
            enable_execute_command=False,
            # The target group must belong to a listener before a service can use it; autoscaling owns the count.
            opts=self._opts(depends_on=[https], ignore_changes=["desired_count"]))
        self.service_name = service.name
        self.load_balancer_arn_suffix = alb.arn_suffix
        self.target_group_arn_suffix = target_group.arn_suffix
        self.register_outputs({"url": self.url, "serviceName": self.service_name, "taskRoleArn": self.task_role_arn})

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _certificate(self, alb: aws.lb.LoadBalancer) -> pulumi.Output[str]:
        cert = self._args.service.certificate
        if cert.arn is not None:
            return pulumi.Output.from_input(cert.arn)
        # selfSigned (dev only): generated here for this ALB's DNS name and imported into ACM. Later runs would
        # generate a new key; ignore_changes keeps the first one, so `pulumi up` stays a no-op.
        common_name = f"LISA {self._ctx.prefix} {self._args.app}"
        pem = alb.dns_name.apply(lambda dns: self_signed_certificate(common_name, [dns]))
        imported = aws.acm.Certificate(
            f"{self._name}-self-signed", certificate_body=pem.apply(lambda p: p[0]),
            private_key=pulumi.Output.secret(pem.apply(lambda p: p[1])),
            opts=self._opts(ignore_changes=["certificate_body", "private_key"]))
        return imported.arn

    def _platform_secret(self, platform_json: pulumi.Output[str]) -> pulumi.Output[str]:
        ctx = self._ctx
        secret = aws.secretsmanager.Secret(
            f"{self._name}-platform", name=naming.platform_secret(ctx.deployment, ctx.stage_name, self._args.app),
            description=f"platform outputs the {self._args.app} app reads at start (LISA_PLATFORM)",
            kms_key_id=self._args.service.kms_key_arn, recovery_window_in_days=0, opts=self._opts())
        version = aws.secretsmanager.SecretVersion(f"{self._name}-platform-value", secret_id=secret.id,
                                                   secret_string=pulumi.Output.secret(platform_json), opts=self._opts())
        # Tasks must not start before the value exists: depend on the version, not just the secret.
        return pulumi.Output.all(secret.arn, version.id).apply(lambda v: v[0])

    def _roles(self, log_group: aws.cloudwatch.LogGroup, secret_arn: pulumi.Output[str]):
        ctx, args, n = self._ctx, self._args, self._name
        account = pulumi.Output.from_input(ctx.account_id)
        trust = account.apply(lambda a: iam_policies.to_json(iam_policies.ecs_tasks_trust(a)))
        execution_role = aws.iam.Role(f"{n}-execution-role", name=naming.app_execution_role(
            ctx.deployment, ctx.stage_name, args.app), assume_role_policy=trust, opts=self._opts())
        execution_policy = pulumi.Output.all(
            account=account, log_group_arn=log_group.arn, secret_arn=secret_arn, kms_key_arn=args.service.kms_key_arn,
            ecr_repository_arns=args.service.ecr_repository_arns).apply(
            lambda v: iam_policies.execution_role_policy(
                iam_policies.Account(ctx.partition, ctx.region, v["account"]), log_group_arn=v["log_group_arn"],
                secret_arns=[v["secret_arn"]], kms_key_arn=v["kms_key_arn"],
                ecr_repository_arns=v["ecr_repository_arns"]))
        aws.iam.RolePolicy(f"{n}-execution-policy", role=execution_role.id,
                           policy=execution_policy.apply(iam_policies.to_json), opts=self._opts())
        task_role = aws.iam.Role(f"{n}-task-role", name=naming.app_task_role(ctx.deployment, ctx.stage_name, args.app),
                                 assume_role_policy=trust, opts=self._opts())
        aws.iam.RolePolicy(f"{n}-task-policy", role=task_role.id,
                           policy=pulumi.Output.from_input(args.task_policy).apply(iam_policies.to_json),
                           opts=self._opts())
        return execution_role, task_role

    def _task_definition(self, log_group: aws.cloudwatch.LogGroup, secret_arn: pulumi.Output[str],
                         platform_json: pulumi.Output[str], execution_role: aws.iam.Role,
                         task_role: aws.iam.Role) -> aws.ecs.TaskDefinition:
        ctx, args = self._ctx, self._args
        extra = pulumi.Output.all(**args.extra_environment) if args.extra_environment else pulumi.Output.from_input({})
        containers = pulumi.Output.all(
            image=args.service.image, log_group=log_group.name, platform_secret_arn=secret_arn,
            platform_json=platform_json, extra=extra, web_url=args.service.web_url).apply(
            lambda v: app_containers.container_definitions_json(app_containers.app_container_definitions(
                app=args.app, image=v["image"], region=ctx.region, log_group=v["log_group"],
                platform_secret_arn=v["platform_secret_arn"],
                environment=app_containers.app_environment(
                    app=args.app, region=ctx.region, log_level=args.service.log_level,
                    platform_json=v["platform_json"], web_url=v["web_url"], extra=v["extra"]))))
        return aws.ecs.TaskDefinition(
            f"{self._name}-task", family=f"{ctx.prefix}-{args.app}", requires_compatibilities=["FARGATE"],
            network_mode="awsvpc", cpu=str(args.cpu), memory=str(args.memory_mib),
            execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            container_definitions=containers, opts=self._opts())
