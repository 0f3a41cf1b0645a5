"""HostedModel: one model served from its own GPU instances on the shared cluster, as a Pulumi dynamic resource.

The parts, in creation order: log group, launch template (ECS GPU AMI from SSM), auto scaling group, capacity
provider attached to the cluster, task definition, target group, listener rule (header `X-Lisa-Model`), ECS
service, scalable target and target-tracking policy. Every part has a name derived from the model, so `create`
adopts what a crashed earlier attempt left behind instead of orphaning it, and `delete` finds everything by name,
in reverse order, treating "already gone" as done. A failed `create` removes what it made (Pulumi records nothing).

The request arguments all come from `providers.hosted_model_plan`; this module only talks to AWS, with clients
from `core.aws` created inside the methods (the provider object is pickled into the stack and must hold nothing).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from botocore.exceptions import ClientError
from pulumi import ResourceOptions
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult
from pydantic import ValidationError

from core import aws
from providers import cluster_capacity
from providers.drift import drift
from providers import hosted_model_plan as plan
from providers.hosted_model_plan import HostedModelArgs, HostedModelNames
from providers.instance_types import instance_shape
from providers.provider_process import FollowingProvider

_DRAIN_TIMEOUT_S = 900  # a GPU instance can take minutes to terminate


def _code(exc: ClientError) -> str:
    return aws.error_code(exc) or ""


def _retry(call: Callable[[], Any], *, busy: set[str], timeout: float) -> Any:
    """Repeat `call` while AWS answers one of the `busy` codes (a dependency still draining), up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ClientError as exc:
            if _code(exc) not in busy or time.monotonic() > deadline:
                raise
        time.sleep(3)


# Create, part by part (each adopts an existing part of the same name) -------------------------------------------
def _log_group(args: HostedModelArgs) -> str:
    logs, name = aws.client("logs"), HostedModelNames.of(args).log_group
    try:
        logs.create_log_group(logGroupName=name, tags=plan.tags(args))
    except ClientError as exc:
        if _code(exc) != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=name, retentionInDays=30)
    return name


def _image_id(args: HostedModelArgs) -> str:
    parameter = instance_shape(args.instance_type).ami_parameter
    return aws.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]


def _launch_template(args: HostedModelArgs, image_id: str) -> str:
    ec2, request = aws.client("ec2"), plan.launch_template_args(args, image_id)
    try:
        return ec2.create_launch_template(**request)["LaunchTemplate"]["LaunchTemplateId"]
    except ClientError as exc:
        if "AlreadyExists" not in _code(exc):
            raise
    name, data = request["LaunchTemplateName"], request["LaunchTemplateData"]
    latest = ec2.describe_launch_template_versions(LaunchTemplateName=name, Versions=["$Latest"])["LaunchTemplateVersions"][0]
    if any(latest["LaunchTemplateData"].get(k) != data[k] for k in ("ImageId", "InstanceType", "UserData")):
        ec2.create_launch_template_version(LaunchTemplateName=name, LaunchTemplateData=data)
    return latest["LaunchTemplateId"]


def _describe_asg(name: str) -> dict[str, Any] | None:
    groups = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return groups[0] if groups else None


def _auto_scaling_group(args: HostedModelArgs, launch_template_id: str) -> str:
    asg, request = aws.client("autoscaling"), plan.auto_scaling_group_args(args, launch_template_id)
    if _describe_asg(request["AutoScalingGroupName"]) is None:
        asg.create_auto_scaling_group(**request)
    else:
        asg.update_auto_scaling_group(
            **plan.auto_scaling_group_sizes(args), LaunchTemplate=request["LaunchTemplate"],
            VPCZoneIdentifier=request["VPCZoneIdentifier"], DefaultInstanceWarmup=request["DefaultInstanceWarmup"],
        )
    return _describe_asg(request["AutoScalingGroupName"])["AutoScalingGroupARN"]


def _capacity_provider(args: HostedModelArgs, asg_arn: str, lease_table: str) -> str:
    ecs, request = aws.client("ecs"), plan.capacity_provider_args(args, asg_arn)
    found = [p for p in ecs.describe_capacity_providers(capacityProviders=[request["name"]]).get("capacityProviders", [])
             if p.get("status", "ACTIVE") == "ACTIVE"]
    if not found:
        ecs.create_capacity_provider(**request)
    else:
        wanted = request["autoScalingGroupProvider"]["managedScaling"]
        current = found[0].get("autoScalingGroupProvider", {}).get("managedScaling", {})
        if current.get("instanceWarmupPeriod") != wanted["instanceWarmupPeriod"]:
            ecs.update_capacity_provider(name=request["name"], autoScalingGroupProvider={"managedScaling": wanted})
    cluster_capacity.attach(lease_table, args.hosting.cluster_name, request["name"])
    return request["name"]


def _describe_task_definition(arn: str) -> dict[str, Any] | None:
    try:
        return aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    except ClientError as exc:
        if _code(exc) in {"ClientException", "InvalidParameterException"}:
            return None
        raise


def _task_definition(args: HostedModelArgs) -> str:
    """The service's current revision when it holds what the spec asks (an update that changes no container setting
    registers nothing), else a new revision."""
    request = plan.task_definition_args(args)
    service = _describe_service(args)
    if service is not None:
        current = _describe_task_definition(service["taskDefinition"])
        expected = plan.expected_state(args, None)["taskDefinition"]
        if current is not None and not drift({"t": expected}, {"t": {"status": current.get("status"),
                                                                         **plan.observed_task_definition(current)}}):
            return service["taskDefinition"]
    return aws.client("ecs").register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]


def _family_revisions(family: str, status: str = "ACTIVE") -> list[str]:
    ecs, arns = aws.client("ecs"), []
    for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status=status):
        arns.extend(a for a in page["taskDefinitionArns"] if a.rsplit("/", 1)[1].rsplit(":", 1)[0] == family)
    return arns


def _retire_other_revisions(args: HostedModelArgs, keep: str) -> None:
    """Revisions an earlier (crashed) attempt registered; the service now runs `keep`."""
    ecs = aws.client("ecs")
    for arn in _family_revisions(HostedModelNames.of(args).base):
        if arn != keep:
            _ignore({"ClientException", "InvalidParameterException"}, lambda arn=arn: ecs.deregister_task_definition(taskDefinition=arn))


def _target_group_arn(name: str) -> str | None:
    try:
        groups = aws.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    except ClientError as exc:
        if _code(exc) != "TargetGroupNotFound":
            raise
        return None
    return groups[0]["TargetGroupArn"] if groups else None


_HEALTH_CHECK_KEYS = ("HealthCheckPath", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
                      "HealthyThresholdCount", "UnhealthyThresholdCount")


def _target_group(args: HostedModelArgs) -> str:
    request = plan.target_group_args(args)
    elb = aws.client("elbv2")
    existing = _target_group_arn(request["Name"])
    if not existing:
        return elb.create_target_group(**request)["TargetGroups"][0]["TargetGroupArn"]
    current = elb.describe_target_groups(TargetGroupArns=[existing])["TargetGroups"][0]
    if any(current.get(k) != request[k] for k in _HEALTH_CHECK_KEYS):
        elb.modify_target_group(TargetGroupArn=existing, **{k: request[k] for k in _HEALTH_CHECK_KEYS})
    return existing


def _rules(listener_arn: str) -> list[dict[str, Any]]:
    elb, rules, marker = aws.client("elbv2"), [], None
    while True:
        page = elb.describe_rules(ListenerArn=listener_arn, **({"Marker": marker} if marker else {}))
        rules.extend(page["Rules"])
        marker = page.get("NextMarker")
        if not marker:
            return rules


def _model_rule(args: HostedModelArgs) -> dict[str, Any] | None:
    return next((r for r in _rules(args.hosting.listener_arn) if plan.is_model_rule(r, args.model_id)), None)


def _existing_model_rule(args: HostedModelArgs) -> dict[str, Any] | None:
    try:
        return _model_rule(args)
    except ClientError as exc:
        if _code(exc) == "ListenerNotFound":  # no listener, no rule on it
            return None
        raise


def _listener_rule(args: HostedModelArgs, target_group_arn: str) -> tuple[str, int]:
    elb = aws.client("elbv2")
    existing = _model_rule(args)
    if existing:
        elb.modify_rule(RuleArn=existing["RuleArn"], Actions=[{"Type": "forward", "TargetGroupArn": target_group_arn}])
        return existing["RuleArn"], int(existing["Priority"])
    for _ in range(20):
        used = {int(r["Priority"]) for r in _rules(args.hosting.listener_arn) if r["Priority"] != "default"}
        priority = plan.pick_priority(used, args.model_id)
        try:
            rule = elb.create_rule(**plan.listener_rule_args(args, target_group_arn, priority))["Rules"][0]
            return rule["RuleArn"], priority
        except ClientError as exc:
            if _code(exc) != "PriorityInUse":  # another model took it between our read and our write
                raise
    raise RuntimeError(f"no free listener rule priority for {args.model_id} after 20 attempts")


def _describe_service(args: HostedModelArgs) -> dict[str, Any] | None:
    names = HostedModelNames.of(args)
    services = aws.client("ecs").describe_services(cluster=args.hosting.cluster_name, services=[names.base])["services"]
    return next((s for s in services if s.get("status") == "ACTIVE"), None)


def _service(args: HostedModelArgs, task_definition_arn: str, target_group_arn: str) -> str:
    ecs, request = aws.client("ecs"), plan.service_args(args, task_definition_arn, target_group_arn)
    if _describe_service(args) is None:
        return ecs.create_service(**request)["service"]["serviceArn"]
    return ecs.update_service(
        cluster=request["cluster"], service=request["serviceName"], taskDefinition=task_definition_arn,
        desiredCount=request["desiredCount"], capacityProviderStrategy=request["capacityProviderStrategy"],
        deploymentConfiguration=request["deploymentConfiguration"],
        healthCheckGracePeriodSeconds=request["healthCheckGracePeriodSeconds"],
    )["service"]["serviceArn"]


def _autoscaling(args: HostedModelArgs, target_group_arn: str) -> str:
    scaling = aws.client("application-autoscaling")
    scaling.register_scalable_target(**plan.scalable_target_args(args))
    return scaling.put_scaling_policy(**plan.scaling_policy_args(args, target_group_arn))["PolicyARN"]


def _service_counts(args: HostedModelArgs, target_group_arn: str) -> tuple[int, int, int]:
    """(desired, running, healthy targets) of the model's service."""
    service = _describe_service(args) or {}
    health = aws.client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    healthy = sum(1 for t in health if t.get("TargetHealth", {}).get("State") == "healthy")
    return service.get("desiredCount", 0), service.get("runningCount", 0), healthy


def _rolled_out(args: HostedModelArgs) -> bool:
    """The service's newest deployment is complete (a rollout that failed raises, naming the circuit breaker)."""
    service = _describe_service(args) or {}
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)
    if primary is None or "rolloutState" not in primary:
        return True  # nothing rolling (or an ECS that does not say)
    if primary["rolloutState"] == "FAILED":
        raise RuntimeError(f"the ECS rollout failed and was rolled back: {primary.get('rolloutStateReason', '')}")
    return primary["rolloutState"] == "COMPLETED"


def wait_until_ready(args: HostedModelArgs, target_group_arn: str) -> bool:
    """Whether the model became ready under its readiness rule (see `plan.Readiness`) before the timeout."""
    wanted = plan.capacity(args).desired
    if wanted == 0:
        return False
    if args.readiness.rule == "deployed":
        service = _describe_service(args)
        return service is not None and service.get("desiredCount") == wanted
    deadline = time.monotonic() + args.readiness.timeout_seconds
    while True:
        desired, running, healthy = _service_counts(args, target_group_arn)
        if desired > 0 and running >= desired and healthy >= desired and _rolled_out(args):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(args.readiness.poll_seconds)


def deploy(args: HostedModelArgs, lease_table: str) -> dict[str, Any]:
    """Create (or adopt) every part; the outputs name them all."""
    log_group = _log_group(args)
    image_id = _image_id(args)
    launch_template_id = _launch_template(args, image_id)
    asg_arn = _auto_scaling_group(args, launch_template_id)
    capacity_provider = _capacity_provider(args, asg_arn, lease_table)
    task_definition_arn = _task_definition(args)
    target_group_arn = _target_group(args)
    rule_arn, priority = _listener_rule(args, target_group_arn)
    service_arn = _service(args, task_definition_arn, target_group_arn)
    _retire_other_revisions(args, keep=task_definition_arn)
    policy_arn = _autoscaling(args, target_group_arn)
    names = HostedModelNames.of(args)
    return {
        "logGroupName": log_group, "imageId": image_id, "launchTemplateId": launch_template_id,
        "autoScalingGroupName": names.base, "autoScalingGroupArn": asg_arn, "capacityProviderName": capacity_provider,
        "taskDefinitionArn": task_definition_arn, "targetGroupArn": target_group_arn, "listenerRuleArn": rule_arn,
        "rulePriority": priority, "serviceName": names.base, "serviceArn": service_arn, "scalingPolicyArn": policy_arn,
        "endpoint": plan.endpoint(args), "ready": wait_until_ready(args, target_group_arn),
    }


def resize(args: HostedModelArgs, target_group_arn: str) -> None:
    """Apply the capacity triple (and the scaling policy) to the ASG, the service and the scalable target."""
    aws.client("autoscaling").update_auto_scaling_group(
        **plan.auto_scaling_group_sizes(args), DefaultInstanceWarmup=args.auto_scaling_config.default_instance_warmup)
    names = HostedModelNames.of(args)
    aws.client("ecs").update_service(cluster=args.hosting.cluster_name, service=names.base,
                                     desiredCount=plan.capacity(args).desired,
                                     deploymentConfiguration=plan.deployment_configuration(args))
    _autoscaling(args, target_group_arn)


# Read: what AWS holds of each part (drift) ---------------------------------------------------------------------
def _maybe(call: Callable[[], Any], gone: set[str]) -> Any:
    try:
        return call()
    except ClientError as exc:
        if _code(exc) in gone:
            return None
        raise


def observe(args: HostedModelArgs) -> dict[str, Any]:
    """Each part as AWS holds it now, in the shape of `plan.expected_state` (None: the part is gone)."""
    names, ecs = HostedModelNames.of(args), aws.client("ecs")
    scaling, resource_id = aws.client("application-autoscaling"), plan.service_resource_id(args)
    logs = aws.client("logs").describe_log_groups(logGroupNamePrefix=names.log_group)["logGroups"]
    template = _maybe(lambda: aws.client("ec2").describe_launch_template_versions(
        LaunchTemplateName=names.base, Versions=["$Latest"])["LaunchTemplateVersions"][0],
        {"InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound"})
    group = _describe_asg(names.base)
    providers = [p for p in ecs.describe_capacity_providers(capacityProviders=[names.capacity_provider])
                 .get("capacityProviders", []) if p.get("status", "ACTIVE") == "ACTIVE"]
    clusters = ecs.describe_clusters(clusters=[args.hosting.cluster_name])["clusters"]
    attached = bool(clusters) and names.capacity_provider in clusters[0].get("capacityProviders", [])
    service = _describe_service(args)
    definition = _describe_task_definition(service["taskDefinition"]) if service else None
    target_group_arn = _target_group_arn(names.target_group)
    target_group = aws.client("elbv2").describe_target_groups(
        TargetGroupArns=[target_group_arn])["TargetGroups"][0] if target_group_arn else None
    rule = _existing_model_rule(args)
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
    policies = scaling.describe_scaling_policies(PolicyNames=[names.scaling_policy], ServiceNamespace="ecs",
                                                 ResourceId=resource_id)["ScalingPolicies"]
    policy = policies[0]["TargetTrackingScalingPolicyConfiguration"] if policies else None
    return {
        "logGroup": {"logGroupName": names.log_group} if any(g["logGroupName"] == names.log_group for g in logs) else None,
        "launchTemplate": {"instanceType": template["LaunchTemplateData"].get("InstanceType")} if template else None,
        "autoScalingGroup": {"minSize": group["MinSize"], "maxSize": group["MaxSize"],
                             "desiredCapacity": group["DesiredCapacity"]} if group else None,
        "capacityProvider": {"attachedToCluster": attached} if providers else None,
        "taskDefinition": ({"status": definition.get("status"), **plan.observed_task_definition(definition)}
                           if definition else None),
        "targetGroup": {k: target_group.get(k) for k in _HEALTH_CHECK_KEYS} if target_group else None,
        "listenerRule": {"targetGroupArn": next((a.get("TargetGroupArn") for a in rule.get("Actions", [])
                                                 if a.get("Type") == "forward"), None)} if rule else None,
        "service": {"status": service.get("status"), "desiredCount": service.get("desiredCount")} if service else None,
        "scalableTarget": {"minCapacity": targets[0]["MinCapacity"], "maxCapacity": targets[0]["MaxCapacity"]}
        if targets else None,
        "scalingPolicy": {"targetValue": policy.get("TargetValue"), "scaleInCooldown": policy.get("ScaleInCooldown"),
                          "scaleOutCooldown": policy.get("ScaleOutCooldown")} if policy else None,
    }


def drift_of(args: HostedModelArgs, target_group_arn: str | None) -> list[dict[str, Any]]:
    return drift(plan.expected_state(args, target_group_arn), observe(args))


# Delete, in reverse order; "already gone" is done ----------------------------------------------------------------
def _ignore(codes: set[str], call: Callable[[], Any]) -> None:
    try:
        call()
    except ClientError as exc:
        if _code(exc) not in codes:
            raise


def _delete_autoscaling(args: HostedModelArgs) -> None:
    scaling, names = aws.client("application-autoscaling"), HostedModelNames.of(args)
    target = {"ServiceNamespace": "ecs", "ResourceId": plan.service_resource_id(args),
              "ScalableDimension": "ecs:service:DesiredCount"}
    # Describe first: a missing policy is ObjectNotFoundException in AWS but ValidationException in the emulator.
    gone = {"ObjectNotFoundException"}
    policies = scaling.describe_scaling_policies(PolicyNames=[names.scaling_policy], ServiceNamespace="ecs",
                                                 ResourceId=target["ResourceId"])["ScalingPolicies"]
    if policies:
        _ignore(gone, lambda: scaling.delete_scaling_policy(PolicyName=names.scaling_policy, **target))
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[target["ResourceId"]],
                                                ScalableDimension=target["ScalableDimension"])["ScalableTargets"]
    if targets:
        _ignore(gone, lambda: scaling.deregister_scalable_target(**target))


def _delete_service(args: HostedModelArgs) -> None:
    ecs, names, cluster = aws.client("ecs"), HostedModelNames.of(args), args.hosting.cluster_name
    gone = {"ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"}
    if _describe_service(args) is None:
        return
    _ignore(gone, lambda: ecs.update_service(cluster=cluster, service=names.base, desiredCount=0))
    _ignore(gone, lambda: ecs.delete_service(cluster=cluster, service=names.base, force=True))
    deadline = time.monotonic() + _DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:  # DRAINING until its tasks stop; the capacity provider stays in use till then
        services = ecs.describe_services(cluster=cluster, services=[names.base])["services"]
        if all(s.get("status") == "INACTIVE" for s in services):
            return
        time.sleep(5)


def _delete_listener_rule(args: HostedModelArgs) -> None:
    rule = _existing_model_rule(args)
    if rule:
        _ignore({"RuleNotFound"}, lambda: aws.client("elbv2").delete_rule(RuleArn=rule["RuleArn"]))


def _delete_target_group(args: HostedModelArgs) -> None:
    arn = _target_group_arn(HostedModelNames.of(args).target_group)
    if arn:
        _retry(lambda: _ignore({"TargetGroupNotFound"}, lambda: aws.client("elbv2").delete_target_group(TargetGroupArn=arn)),
               busy={"ResourceInUse"}, timeout=_DRAIN_TIMEOUT_S)


def _delete_task_definitions(args: HostedModelArgs) -> None:
    ecs, family = aws.client("ecs"), HostedModelNames.of(args).base
    arns = _family_revisions(family, "ACTIVE") + _family_revisions(family, "INACTIVE")
    for arn in arns:
        _ignore({"ClientException", "InvalidParameterException"}, lambda arn=arn: ecs.deregister_task_definition(taskDefinition=arn))
    for start in range(0, len(arns), 10):  # DeleteTaskDefinitions takes at most 10 at a time
        _ignore({"ClientException", "InvalidParameterException"},
                lambda chunk=arns[start:start + 10]: ecs.delete_task_definitions(taskDefinitions=chunk))


def _delete_capacity_provider(args: HostedModelArgs, lease_table: str) -> None:
    ecs, name = aws.client("ecs"), HostedModelNames.of(args).capacity_provider
    cluster_capacity.detach(lease_table, args.hosting.cluster_name, name)
    found = ecs.describe_capacity_providers(capacityProviders=[name]).get("capacityProviders", [])
    if any(p.get("status", "ACTIVE") == "ACTIVE" for p in found):
        _retry(lambda: ecs.delete_capacity_provider(capacityProvider=name),
               busy={"ResourceInUseException", "UpdateInProgressException"}, timeout=_DRAIN_TIMEOUT_S)


def _delete_auto_scaling_group(args: HostedModelArgs) -> None:
    name = HostedModelNames.of(args).base
    if _describe_asg(name) is None:
        return
    _ignore({"ValidationError"}, lambda: aws.client("autoscaling").delete_auto_scaling_group(
        AutoScalingGroupName=name, ForceDelete=True))
    deadline = time.monotonic() + _DRAIN_TIMEOUT_S
    while _describe_asg(name) is not None and time.monotonic() < deadline:  # instances terminate first
        time.sleep(5)


def _delete_launch_template(args: HostedModelArgs) -> None:
    ec2, gone = aws.client("ec2"), {"InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound"}
    try:
        found = ec2.describe_launch_templates(LaunchTemplateNames=[HostedModelNames.of(args).base])["LaunchTemplates"]
    except ClientError as exc:
        if _code(exc) in gone:
            return
        raise
    for template in found:
        _ignore(gone, lambda: ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"]))


def _delete_log_group(args: HostedModelArgs) -> None:
    _ignore({"ResourceNotFoundException"},
            lambda: aws.client("logs").delete_log_group(logGroupName=HostedModelNames.of(args).log_group))


def teardown(args: HostedModelArgs, lease_table: str) -> None:
    """Every step runs even when an earlier one fails, so one stuck part does not keep the others alive."""
    steps: list[Callable[[], None]] = [
        lambda: _delete_autoscaling(args),
        lambda: _delete_service(args),
        lambda: _delete_listener_rule(args),
        lambda: _delete_target_group(args),
        lambda: _delete_task_definitions(args),
        lambda: _delete_capacity_provider(args, lease_table),
        lambda: _delete_auto_scaling_group(args),
        lambda: _delete_launch_template(args),
        lambda: _delete_log_group(args),
    ]
    errors = []
    for step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 (collected and raised below)
            errors.append(exc)
    if errors:
        raise RuntimeError("; ".join(str(e) for e in errors)) from errors[0]


# The provider -----------------------------------------------------------------------------------------------------
def _args(props: dict[str, Any]) -> HostedModelArgs:
    return HostedModelArgs.model_validate({k: v for k, v in props.items() if k in plan.INPUT_KEYS})


class HostedModelProvider(FollowingProvider):
    # Pickled by reference and holding no state, so there is nothing secret to encrypt in the stack.
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        try:
            args = _args(news)
        except ValidationError as exc:
            return CheckResult(news, [CheckFailure(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()])
        problem = plan.image_pull_problem(args.container_config.image.base_image, args.hosting.image_repository_arns)
        return CheckResult(news, [CheckFailure("containerConfig.image.baseImage", problem)] if problem else [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        decision = plan.diff_hosted_model(olds, news)
        # Names are derived from the model id, so the old parts must go before the new ones can exist.
        return DiffResult(changes=decision.changes, replaces=decision.replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        args = _args(props)
        try:
            outs = deploy(args, props["leaseTable"])
        except Exception as exc:
            # Pulumi records nothing for a failed create, so leave nothing behind.
            try:
                teardown(args, props["leaseTable"])
            except Exception as cleanup:
                raise RuntimeError(f"{exc} (cleaning up the partial create also failed: {cleanup})") from exc
            raise
        return CreateResult(HostedModelNames.of(args).base, {**props, **outs, "drift": []})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        args = _args(news)
        decision = plan.diff_hosted_model(olds, news)
        computed = {k: v for k, v in olds.items() if k not in plan.INPUT_KEYS}
        if not decision.capacity_only:
            # A container or health-check change, or drift: every part converged as declared (a changed task
            # definition is registered and rolled through the service), then ready once the rollout completes.
            outs = deploy(args, news["leaseTable"])
            return UpdateResult({**computed, **news, **outs, "drift": []})
        resize(args, olds["targetGroupArn"])
        old_args = _args(olds)
        if old_args.auto_scaling_config.default_instance_warmup != args.auto_scaling_config.default_instance_warmup:
            request = plan.capacity_provider_args(args, olds["autoScalingGroupArn"])
            aws.client("ecs").update_capacity_provider(
                name=request["name"], autoScalingGroupProvider={
                    "managedScaling": request["autoScalingGroupProvider"]["managedScaling"]})
        # Scaling a serving model keeps it routable; a start (from 0) or an earlier miss waits for readiness again.
        was_serving = bool(olds.get("ready")) and plan.capacity(old_args).desired > 0
        if plan.capacity(args).desired == 0:
            ready = False
        elif was_serving:
            ready = True
        else:
            ready = wait_until_ready(args, olds["targetGroupArn"])
        return UpdateResult({**computed, **news, "ready": ready, "drift": []})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The declared inputs stay as they are; `drift` lists where AWS differs from them (refresh, then an update
        puts the parts back: diff counts drift as a change)."""
        return ReadResult(id_, {**props, "drift": drift_of(_args(props), props.get("targetGroupArn"))})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        teardown(_args(props), props["leaseTable"])


class HostedModel(Resource, module="lisa", name="HostedModel"):
    """A hosted model's AWS parts. Outputs: `endpoint`, `ready`, `serviceName`, `targetGroupArn`, …"""

    endpoint: Any
    ready: Any

    def __init__(self, name: str, args: HostedModelArgs, *, lease_table: str, opts: ResourceOptions | None = None) -> None:
        props = {**args.props(), "leaseTable": lease_table, "endpoint": None, "ready": None, "drift": None}
        super().__init__(HostedModelProvider(), name, props, opts)
