"""The pure half of a hosted model: every AWS request argument derived from the model's spec, and the diff decision.

`providers/hosted_model.py` only sends these to AWS. Nothing here does I/O, so all of it is unit-tested.
A model task owns a whole instance (all its GPUs); its ASG, capacity provider, service and scalable target all
count the same thing (instances = tasks), so one capacity triple drives them all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from core import naming
from core.models import (
    AutoScalingConfig,
    ContainerConfig,
    InferenceContainer,
    LoadBalancerConfig,
    ModelSpec,
)
from core.platform import ModelHostingOutputs
from core.schema import CamelModel
from providers.inputs import same
from providers.instance_types import instance_shape, task_memory_mib

MODEL_HEADER = naming.MODEL_HEADER
CONTAINER_PORT = 8080
MODEL_CONTAINER = "model"
WEIGHTS_CONTAINER = "weights"
WEIGHTS_MOUNT = "/models"
DEFAULT_WEIGHTS_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.15.0"
# Loading weights into GPU memory can take many minutes; the ALB must not have ECS kill a task still loading.
HEALTH_CHECK_GRACE_S = 900
# The shared model ALB's idle timeout (components/model_hosting.py): vLLM keeps idle connections longer, else it may
# close one the ALB is reusing (a 502).
MODEL_ALB_IDLE_TIMEOUT_S = 600
MODEL_KEEP_ALIVE_S = MODEL_ALB_IDLE_TIMEOUT_S + 20
# A private ECR image: <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")
WEIGHTS_MEMORY_MIB = 512
INSTANCE_METADATA_ADDRESS = "169.254.169.254"
MAX_RULE_PRIORITY = 50_000


class Readiness(CamelModel):
    """When a hosted model counts as ready to route.

    `healthy` (real AWS): the service runs its desired count and as many targets pass the ALB health check.
    `deployed` (the emulator, where no task ever runs): every part exists with the planned capacity.
    """

    rule: Literal["healthy", "deployed"] = "healthy"
    timeout_seconds: int = Field(default=1800, ge=1)
    poll_seconds: float = Field(default=10.0, gt=0)


class HostedModelArgs(CamelModel):
    """The inputs of one HostedModel resource: the model's spec plus the shared hosting it lands on."""

    deployment_name: str
    deployment_stage: str
    region: str
    model_id: str
    model_name: str
    inference_container: InferenceContainer
    instance_type: str
    container_config: ContainerConfig
    auto_scaling_config: AutoScalingConfig
    load_balancer_config: LoadBalancerConfig
    enabled: bool = True
    hosting: ModelHostingOutputs
    models_bucket: str
    weights_image: str = DEFAULT_WEIGHTS_IMAGE
    readiness: Readiness = Field(default_factory=Readiness)
    tags: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: ModelSpec, **rest: Any) -> HostedModelArgs:
        if not spec.is_hosted:
            raise ValueError(f"model {spec.model_id} has no containerConfig: it is LiteLLM-only")
        return cls(
            model_id=spec.model_id, model_name=spec.model_name, inference_container=spec.inference_container,
            instance_type=spec.instance_type, container_config=spec.container_config,
            # The schedule is a resource of its own (providers/model_schedule.py): changing it changes no part here.
            auto_scaling_config=spec.auto_scaling_config.model_copy(update={"scheduling": None}),
            load_balancer_config=spec.load_balancer_config, **rest,
        )

    def props(self) -> dict[str, Any]:
        """The resource's Pulumi inputs (plain JSON)."""
        return self.model_dump(mode="json", exclude_none=True)


def check_hosted_spec(spec: ModelSpec, image_repository_arns: list[str] | tuple[str, ...] = ()) -> None:
    """What AWS would refuse minutes into a deployment, refused up front (ValueError with the field named)."""
    if not spec.is_hosted:
        return
    instance_shape(spec.instance_type)
    problem = image_pull_problem(spec.container_config.image.base_image, image_repository_arns)
    if problem:
        raise ValueError(f"containerConfig.image.baseImage: {problem}")
    health = spec.load_balancer_config.health_check_config
    if health.timeout >= health.interval:
        raise ValueError(
            f"loadBalancerConfig.healthCheckConfig: timeout ({health.timeout}) must be less than interval ({health.interval})"
        )
    container = spec.container_config.health_check_config
    if container.timeout >= container.interval:
        raise ValueError(
            f"containerConfig.healthCheckConfig: timeout ({container.timeout}) must be less than interval ({container.interval})"
        )


def image_pull_problem(image: str, image_repository_arns: list[str] | tuple[str, ...]) -> str | None:
    """Why a model task could not pull `image`, if it is in a private ECR repository the stage does not name for
    model images (the execution role may pull only from those, stage config modelImageRepositories)."""
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None  # a public registry: no IAM involved
    account, region, repository = match.groups()
    allowed = {tuple(arn.split(":", 5)[3:]) for arn in image_repository_arns}  # (region, account, name)
    if (region, account, f"repository/{repository}") in allowed:
        return None
    return (f"the image's ECR repository {repository} ({account}, {region}) is not one the stage lets models pull "
            f"from; add it to modelImageRepositories in the stage config")


# Names ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HostedModelNames:
    base: str  # service, ASG, launch template, task family
    target_group: str
    capacity_provider: str
    log_group: str
    scaling_policy: str

    @classmethod
    def of(cls, args: HostedModelArgs) -> HostedModelNames:
        d, s, m = args.deployment_name, args.deployment_stage, args.model_id
        base = naming.model_resource(d, s, m)
        return cls(
            base=base,
            target_group=naming.model_target_group(d, s, m),
            capacity_provider=naming.model_capacity_provider(d, s, m),
            log_group=naming.model_log_group(d, s, m),
            scaling_policy=f"{base}-requests",
        )


# Capacity ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Capacity:
    minimum: int
    maximum: int
    desired: int


def capacity(args: HostedModelArgs) -> Capacity:
    """Instances = tasks. A disabled (stopped) model has none; its autoscaling config is kept for the next start."""
    if not args.enabled:
        return Capacity(0, 0, 0)
    scaling = args.auto_scaling_config
    return Capacity(scaling.min_capacity, scaling.max_capacity, scaling.effective_desired)


def tags(args: HostedModelArgs) -> dict[str, str]:
    return {
        "lisa:deployment": args.deployment_name, "lisa:stage": args.deployment_stage, "lisa:model": args.model_id,
        **args.tags,
    }


def _key_value_tags(args: HostedModelArgs) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags(args).items()]


def _lower_tags(args: HostedModelArgs) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags(args).items()]


# Instances --------------------------------------------------------------------------------------------------------
def user_data(args: HostedModelArgs) -> str:
    """The instance joins the shared cluster, tagged with the model so only its tasks land there. Containers (bridge
    networking) cannot reach the instance metadata service, so an inference image cannot take the instance role:
    the hop limit of 1 stops IMDSv2 tokens at the bridge, and this rule drops anything they send to it anyway."""
    shape = instance_shape(args.instance_type)
    attributes = json.dumps({"lisa.model": args.model_id}, separators=(",", ":"))
    lines = [
        "#!/bin/bash",
        f"iptables --insert FORWARD 1 --in-interface docker+ --destination {INSTANCE_METADATA_ADDRESS}/32 --jump DROP",
        "cat >> /etc/ecs/ecs.config <<'EOF'",
        f"ECS_CLUSTER={args.hosting.cluster_name}",
        f"ECS_INSTANCE_ATTRIBUTES={attributes}",
        "ECS_CONTAINER_STOP_TIMEOUT=60s",
    ]
    if shape.gpus:
        lines.append("ECS_ENABLE_GPU_SUPPORT=true")
    lines.append("EOF")
    return base64.b64encode(("\n".join(lines) + "\n").encode()).decode()


def launch_template_args(args: HostedModelArgs, image_id: str) -> dict[str, Any]:
    names = HostedModelNames.of(args)
    return {
        "LaunchTemplateName": names.base,
        "LaunchTemplateData": {
            "ImageId": image_id,
            "InstanceType": args.instance_type,
            "IamInstanceProfile": {"Arn": args.hosting.instance_profile_arn},
            "SecurityGroupIds": list(args.hosting.instance_security_group_ids),
            "UserData": user_data(args),
            # IMDSv2 only, and only from the instance itself: a container is one hop further (see user_data).
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 200, "VolumeType": "gp3", "Encrypted": True}},
            ],
            "TagSpecifications": [{"ResourceType": "instance", "Tags": _key_value_tags(args)}],
        },
        "TagSpecifications": [{"ResourceType": "launch-template", "Tags": _key_value_tags(args)}],
    }


def auto_scaling_group_args(args: HostedModelArgs, launch_template_id: str) -> dict[str, Any]:
    names, cap = HostedModelNames.of(args), capacity(args)
    return {
        "AutoScalingGroupName": names.base,
        "LaunchTemplate": {"LaunchTemplateId": launch_template_id, "Version": "$Latest"},
        "MinSize": cap.minimum,
        "MaxSize": cap.maximum,
        "DesiredCapacity": cap.desired,
        "VPCZoneIdentifier": ",".join(args.hosting.private_subnet_ids),
        "DefaultInstanceWarmup": args.auto_scaling_config.default_instance_warmup,
        "Tags": [{**t, "PropagateAtLaunch": True} for t in _key_value_tags(args)],
    }


def auto_scaling_group_sizes(args: HostedModelArgs) -> dict[str, Any]:
    names, cap = HostedModelNames.of(args), capacity(args)
    return {"AutoScalingGroupName": names.base, "MinSize": cap.minimum, "MaxSize": cap.maximum,
            "DesiredCapacity": cap.desired}


def capacity_provider_args(args: HostedModelArgs, asg_arn: str) -> dict[str, Any]:
    names = HostedModelNames.of(args)
    return {
        "name": names.capacity_provider,
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": asg_arn,
            "managedScaling": {
                "status": "ENABLED", "targetCapacity": 100, "minimumScalingStepSize": 1, "maximumScalingStepSize": 1,
                "instanceWarmupPeriod": args.auto_scaling_config.default_instance_warmup,
            },
            "managedTerminationProtection": "DISABLED",
        },
        "tags": _lower_tags(args),
    }


# Task -------------------------------------------------------------------------------------------------------------
def weights_uri(args: HostedModelArgs) -> str:
    """LISA's convention: a hosted model's `modelName` is the S3 key of its weights in the models bucket."""
    return f"s3://{args.models_bucket}/{args.model_name.strip('/')}"


def weights_path(args: HostedModelArgs) -> str:
    return f"{WEIGHTS_MOUNT}/{args.model_name.strip('/')}"


def _server_launch(args: HostedModelArgs) -> tuple[list[str] | None, dict[str, str]]:
    """The command and environment each inference server reads its model path and port from."""
    path = weights_path(args)
    if args.inference_container is InferenceContainer.VLLM:
        command = ["--model", path, "--served-model-name", args.model_name, "--port", str(CONTAINER_PORT)]
        return command, {"VLLM_HTTP_TIMEOUT_KEEP_ALIVE": str(MODEL_KEEP_ALIVE_S)}
    # TGI and TEI read the model and port from their environment.
    return None, {"MODEL_ID": path, "PORT": str(CONTAINER_PORT)}


def _log_configuration(args: HostedModelArgs, prefix: str) -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": HostedModelNames.of(args).log_group,
            "awslogs-region": args.region,
            "awslogs-stream-prefix": prefix,
        },
    }


def task_definition_args(args: HostedModelArgs) -> dict[str, Any]:
    names = HostedModelNames.of(args)
    shape = instance_shape(args.instance_type)
    container = args.container_config
    health = container.health_check_config
    command, server_env = _server_launch(args)
    environment = {
        **container.environment,
        **server_env,
        "LISA_MODEL_ID": args.model_id,
        "LISA_MODEL_NAME": args.model_name,
        "LISA_MODEL_WEIGHTS": weights_uri(args),
    }
    model: dict[str, Any] = {
        "name": MODEL_CONTAINER,
        "image": container.image.base_image,
        "essential": True,
        "memoryReservation": task_memory_mib(shape) - WEIGHTS_MEMORY_MIB,
        "portMappings": [{"containerPort": CONTAINER_PORT, "hostPort": 0, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "linuxParameters": {"sharedMemorySize": container.shared_memory_size},
        "healthCheck": {
            "command": list(health.command), "interval": health.interval, "timeout": health.timeout,
            "retries": health.retries, "startPeriod": health.start_period,
        },
        "mountPoints": [{"sourceVolume": "weights", "containerPath": WEIGHTS_MOUNT, "readOnly": True}],
        "dependsOn": [{"containerName": WEIGHTS_CONTAINER, "condition": "SUCCESS"}],
        "logConfiguration": _log_configuration(args, "model"),
    }
    if command:
        model["command"] = command
    if shape.gpus:
        model["resourceRequirements"] = [{"type": "GPU", "value": str(shape.gpus)}]
    weights = {
        "name": WEIGHTS_CONTAINER,
        "image": args.weights_image,
        "essential": False,
        "memoryReservation": WEIGHTS_MEMORY_MIB,
        "command": ["s3", "sync", weights_uri(args), weights_path(args), "--only-show-errors"],
        "mountPoints": [{"sourceVolume": "weights", "containerPath": WEIGHTS_MOUNT, "readOnly": False}],
        "logConfiguration": _log_configuration(args, "weights"),
    }
    return {
        "family": names.base,
        "taskRoleArn": args.hosting.task_role_arn,
        "executionRoleArn": args.hosting.execution_role_arn,
        "memory": str(task_memory_mib(shape)),  # the task's ceiling: the instance, less the OS and the agent
        "networkMode": "bridge",
        "requiresCompatibilities": ["EC2"],
        # On the host, so a task restarted on the same instance finds the weights it already synced.
        "volumes": [{"name": "weights", "host": {"sourcePath": f"/opt/lisa/models/{args.model_id}"}}],
        "containerDefinitions": [weights, model],
        "tags": _lower_tags(args),
    }


# Load balancing ---------------------------------------------------------------------------------------------------
def target_group_args(args: HostedModelArgs) -> dict[str, Any]:
    health = args.load_balancer_config.health_check_config
    return {
        "Name": HostedModelNames.of(args).target_group,
        "Protocol": "HTTP",
        "Port": CONTAINER_PORT,
        "VpcId": args.hosting.vpc_id,
        "TargetType": "instance",
        "HealthCheckEnabled": True,
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": health.path,
        "HealthCheckIntervalSeconds": health.interval,
        "HealthCheckTimeoutSeconds": health.timeout,
        "HealthyThresholdCount": health.healthy_threshold_count,
        "UnhealthyThresholdCount": health.unhealthy_threshold_count,
        "Matcher": {"HttpCode": "200"},
        "Tags": _key_value_tags(args),
    }


def rule_conditions(model_id: str) -> list[dict[str, Any]]:
    return [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": MODEL_HEADER, "Values": [model_id]}}]


def listener_rule_args(args: HostedModelArgs, target_group_arn: str, priority: int) -> dict[str, Any]:
    return {
        "ListenerArn": args.hosting.listener_arn,
        "Priority": priority,
        "Conditions": rule_conditions(args.model_id),
        "Actions": [{"Type": "forward", "TargetGroupArn": target_group_arn}],
        "Tags": _key_value_tags(args),
    }


def is_model_rule(rule: dict[str, Any], model_id: str) -> bool:
    """Whether a described listener rule is the one routing `model_id` (how a retried create finds its rule)."""
    for condition in rule.get("Conditions", []):
        config = condition.get("HttpHeaderConfig") or {}
        if (condition.get("Field") == "http-header" and config.get("HttpHeaderName", "").lower() == MODEL_HEADER.lower()
                and config.get("Values") == [model_id]):
            return True
    return False


def pick_priority(used: set[int], model_id: str) -> int:
    """A free listener rule priority. Starting from a hash of the id spreads concurrent creates apart."""
    start = 1 + int(hashlib.sha256(model_id.encode()).hexdigest(), 16) % MAX_RULE_PRIORITY
    for offset in range(MAX_RULE_PRIORITY):
        candidate = (start - 1 + offset) % MAX_RULE_PRIORITY + 1
        if candidate not in used:
            return candidate
    raise ValueError("the model listener has no free rule priority left")


def endpoint(args: HostedModelArgs) -> str:
    scheme = "https" if args.hosting.listener_protocol == "HTTPS" else "http"
    return f"{scheme}://{args.hosting.load_balancer_dns_name}/v1"


# Service and autoscaling ------------------------------------------------------------------------------------------
def service_args(args: HostedModelArgs, task_definition_arn: str, target_group_arn: str) -> dict[str, Any]:
    names = HostedModelNames.of(args)
    return {
        "cluster": args.hosting.cluster_name,
        "serviceName": names.base,
        "taskDefinition": task_definition_arn,
        "desiredCount": capacity(args).desired,
        "loadBalancers": [
            {"targetGroupArn": target_group_arn, "containerName": MODEL_CONTAINER, "containerPort": CONTAINER_PORT},
        ],
        "capacityProviderStrategy": [{"capacityProvider": names.capacity_provider, "weight": 1, "base": 0}],
        "placementConstraints": [{"type": "memberOf", "expression": f"attribute:lisa.model == {args.model_id}"}],
        "deploymentConfiguration": deployment_configuration(args),
        "healthCheckGracePeriodSeconds": HEALTH_CHECK_GRACE_S,
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
        "tags": _lower_tags(args),
    }


def deployment_configuration(args: HostedModelArgs) -> dict[str, Any]:
    """How ECS rolls a new task definition (a container change) through the service. One task fills an instance:
    - two or more tasks: half of them at a time (minimumHealthyPercent 50, rounded up by ECS; maximumPercent 100),
      so at least half keep serving throughout: no downtime for minCapacity >= 2;
    - one task that may scale to two: the new task starts first on an instance the capacity provider adds
      (maximumPercent 200), the old one stops once it is healthy: no downtime either;
    - one task that may not (maxCapacity 1): the old task stops before the new one starts (a restart).
    A rollout whose tasks never turn healthy is stopped and rolled back by the circuit breaker."""
    cap = capacity(args)
    if cap.desired >= 2:
        healthy, maximum = 50, 100
    elif cap.maximum >= 2:
        healthy, maximum = 100, 200
    else:
        healthy, maximum = 0, 100
    return {"minimumHealthyPercent": healthy, "maximumPercent": maximum,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True}}


def service_resource_id(args: HostedModelArgs) -> str:
    return f"service/{args.hosting.cluster_name}/{HostedModelNames.of(args).base}"


def scalable_target_args(args: HostedModelArgs) -> dict[str, Any]:
    cap = capacity(args)
    return {
        "ServiceNamespace": "ecs",
        "ResourceId": service_resource_id(args),
        "ScalableDimension": "ecs:service:DesiredCount",
        "MinCapacity": cap.minimum,
        "MaxCapacity": cap.maximum,
    }


def resource_label(load_balancer_arn: str, target_group_arn: str) -> str:
    """`app/<lb>/<id>/targetgroup/<tg>/<id>`, the label ALBRequestCountPerTarget needs."""
    lb = load_balancer_arn.split(":loadbalancer/", 1)[1]
    tg = target_group_arn.split(":", 5)[5]
    return f"{lb}/{tg}"


def scaling_policy_args(args: HostedModelArgs, target_group_arn: str) -> dict[str, Any]:
    metric = args.auto_scaling_config.metric_config
    cooldown = args.auto_scaling_config.cooldown
    label = resource_label(args.hosting.load_balancer_arn, target_group_arn)
    config: dict[str, Any] = {"TargetValue": float(metric.target_value), "ScaleInCooldown": cooldown,
                              "ScaleOutCooldown": cooldown}
    if metric.alb_metric_name == "RequestCountPerTarget":
        config["PredefinedMetricSpecification"] = {"PredefinedMetricType": "ALBRequestCountPerTarget",
                                                   "ResourceLabel": label}
    else:
        lb_dimension = args.hosting.load_balancer_arn.split(":loadbalancer/", 1)[1]
        config["CustomizedMetricSpecification"] = {
            "MetricName": metric.alb_metric_name, "Namespace": "AWS/ApplicationELB", "Statistic": "Average",
            "Dimensions": [{"Name": "TargetGroup", "Value": target_group_arn.split(":", 5)[5]},
                           {"Name": "LoadBalancer", "Value": lb_dimension}],
        }
    return {
        "PolicyName": HostedModelNames.of(args).scaling_policy,
        "ServiceNamespace": "ecs",
        "ResourceId": service_resource_id(args),
        "ScalableDimension": "ecs:service:DesiredCount",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": config,
    }


# Drift: what AWS should hold, compared with what it holds ------------------------------------------------------
def _task_definition_view(definition: dict[str, Any]) -> dict[str, Any]:
    """A task definition as compared: containers by name, each environment as a map (AWS keeps neither order)."""
    view = {k: v for k, v in definition.items() if k != "tags"}
    containers = {}
    for container in definition.get("containerDefinitions", []):
        container = dict(container)
        if "environment" in container:
            container["environment"] = {e["name"]: e["value"] for e in container["environment"]}
        containers[container.get("name", "")] = container
    view["containerDefinitions"] = containers
    return view


def expected_state(args: HostedModelArgs, target_group_arn: str | None) -> dict[str, Any]:
    """Each part of the model as AWS should hold it (only what the platform sets and AWS reports back)."""
    names, cap = HostedModelNames.of(args), capacity(args)
    health = target_group_args(args)
    scaling = args.auto_scaling_config
    return {
        "logGroup": {"logGroupName": names.log_group},
        "launchTemplate": {"instanceType": args.instance_type},
        "autoScalingGroup": {"minSize": cap.minimum, "maxSize": cap.maximum, "desiredCapacity": cap.desired},
        "capacityProvider": {"attachedToCluster": True},
        "taskDefinition": {"status": "ACTIVE", **_task_definition_view(task_definition_args(args))},
        "targetGroup": {k: health[k] for k in ("HealthCheckPath", "HealthCheckIntervalSeconds",
                                               "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
                                               "UnhealthyThresholdCount")},
        "listenerRule": {"targetGroupArn": target_group_arn},
        "service": {"status": "ACTIVE", "desiredCount": cap.desired},
        "scalableTarget": {"minCapacity": cap.minimum, "maxCapacity": cap.maximum},
        "scalingPolicy": {"targetValue": float(scaling.metric_config.target_value), "scaleInCooldown": scaling.cooldown,
                          "scaleOutCooldown": scaling.cooldown},
    }


def observed_task_definition(described: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if described is None else _task_definition_view(described)


# Diff -------------------------------------------------------------------------------------------------------------
INPUT_KEYS = frozenset(f.alias or name for name, f in HostedModelArgs.model_fields.items())
# Changed in place: capacity, the scaling policy, enable/disable, and everything the task definition or the target
# group's health check holds (a new task definition rolled through the service: see deployment_configuration).
# Readiness settings and tags only steer how the provider works, so they never cause work on their own.
IN_PLACE_KEYS = frozenset({"enabled", "autoScalingConfig", "containerConfig", "loadBalancerConfig", "weightsImage"})
CAPACITY_KEYS = frozenset({"enabled", "autoScalingConfig"})
IGNORED_KEYS = frozenset({"readiness", "tags"})
# Hosting outputs that only steer the provider's checks: a stage that names another image repository does not
# replace its running models.
IGNORED_HOSTING_KEYS = frozenset({"imageRepositoryArns"})


@dataclass(frozen=True)
class DiffDecision:
    changes: bool
    replaces: list[str]
    changed: tuple[str, ...] = ()

    @property
    def capacity_only(self) -> bool:
        return set(self.changed) <= CAPACITY_KEYS


def diff_hosted_model(olds: dict[str, Any], news: dict[str, Any]) -> DiffDecision:
    """In place for capacity, container settings, health checks and enable/disable; replace for what the instances
    or the model's identity hold (instance type, inference container, model name, hosting, …). Drift that a refresh
    found (`drift` in the old outputs) is a change too: the update puts every part back as declared."""
    olds, news = _without_hosting_keys(olds), _without_hosting_keys(news)
    changed = sorted(k for k in INPUT_KEYS - IGNORED_KEYS if not same(olds, news, k))
    replaces = [k for k in changed if k not in IN_PLACE_KEYS]
    # A model that was not ready when last deployed is worth another look (waits for readiness again).
    retry_readiness = news.get("enabled", True) and olds.get("ready") is False
    drifted = bool(olds.get("drift"))
    return DiffDecision(changes=bool(changed) or bool(retry_readiness) or drifted, replaces=replaces,
                        changed=tuple(changed) + (("drift",) if drifted else ()))
def _without_hosting_keys(props: dict[str, Any]) -> dict[str, Any]:
    hosting = props.get("hosting")
    if not isinstance(hosting, dict):
        return props
    return {**props, "hosting": {k: v for k, v in hosting.items() if k not in IGNORED_HOSTING_KEYS}}
