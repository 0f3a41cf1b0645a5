"""HostedModelProvider's create/diff/update/delete against the emulator, asserting what the emulator holds.

The provider methods are called in-process here (the engine tests run them through the real Pulumi CLI).
"""

from __future__ import annotations

import threading

import pytest

from core import aws
from core.models import ModelSpec
from providers.hosted_model import HostedModelProvider
from providers.hosted_model_plan import HostedModelArgs, Readiness
from tests.fixtures.model_inventory import model_inventory
from tests.fixtures.model_payloads import ecs_model


def props_for(platform, payload: dict, **rest) -> dict:
    outputs, _ = platform
    settings = dict(deployment_name=outputs.deployment_name, deployment_stage=outputs.deployment_stage,
                    region=outputs.region, hosting=outputs.model_hosting, models_bucket=outputs.buckets.models,
                    readiness=Readiness(rule="deployed"))
    args = HostedModelArgs.from_spec(ModelSpec.model_validate(payload), **{**settings, **rest})
    return {**args.props(), "leaseTable": outputs.tables.models}


def scaled(props: dict, **capacity) -> dict:
    return {**props, "autoScalingConfig": {**props["autoScalingConfig"], **capacity}}


@pytest.fixture(scope="module")
def created(platform):
    """One model created once and only read by the tests that use it."""
    props = props_for(platform, ecs_model(modelId="hm-read", instanceType="g5.12xlarge"))
    outs = HostedModelProvider().create(props).outs
    yield outs
    HostedModelProvider().delete("hm-read", outs)


def test_create_registers_a_task_definition_with_the_instance_gpus(created):
    task = aws.client("ecs").describe_task_definition(taskDefinition=created["taskDefinitionArn"])["taskDefinition"]
    model = next(c for c in task["containerDefinitions"] if c["name"] == "model")
    assert model["resourceRequirements"] == [{"type": "GPU", "value": "4"}]
    assert model["image"] == "vllm/vllm-openai:v0.5.0"


def test_create_adds_a_header_rule_on_the_shared_listener(platform, created):
    rules = aws.client("elbv2").describe_rules(RuleArns=[created["listenerRuleArn"]])["Rules"]
    assert rules[0]["Conditions"][0]["HttpHeaderConfig"] == {"HttpHeaderName": "X-Lisa-Model", "Values": ["hm-read"]}
    assert rules[0]["Actions"][0]["TargetGroupArn"] == created["targetGroupArn"]


def test_create_sets_the_target_tracking_policy(created):
    policies = aws.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId="service/lisa-test-models/lisa-test-hm-read")["ScalingPolicies"]
    config = policies[0]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 30.0
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ALBRequestCountPerTarget"


def test_create_sizes_the_auto_scaling_group_from_the_autoscaling_config(created):
    group = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["lisa-test-hm-read"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 1, 1)


def test_create_boots_the_gpu_ami_from_ssm(created):
    gpu_ami = aws.client("ssm").get_parameter(
        Name="/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id")["Parameter"]["Value"]
    assert created["imageId"] == gpu_ami


def test_create_attaches_the_capacity_provider_to_the_cluster(platform, created):
    cluster = aws.client("ecs").describe_clusters(clusters=["lisa-test-models"])["clusters"][0]
    assert created["capacityProviderName"] in cluster["capacityProviders"]


def test_create_is_ready_under_the_deployed_rule(created):
    assert created["ready"] is True


def test_create_after_a_crashed_create_adopts_the_parts_it_left(platform):
    props = props_for(platform, ecs_model(modelId="hm-adopt"))
    provider = HostedModelProvider()
    first = provider.create(props).outs  # as if the process died before Pulumi recorded it
    again = provider.create(props).outs
    inventory = model_inventory(platform[0], "hm-adopt")
    assert again["listenerRuleArn"] == first["listenerRuleArn"]
    assert {k: len(v) for k, v in inventory.items()} == {
        "launchTemplates": 1, "autoScalingGroups": 1, "capacityProviders": 1, "clusterCapacityProviders": 1,
        "taskDefinitions": 1, "targetGroups": 1, "listenerRules": 1, "services": 1, "scalableTargets": 1,
        "scalingPolicies": 1, "logGroups": 1}
    provider.delete("hm-adopt", again)


def test_update_resizes_the_group_the_service_and_the_scalable_target_in_place(platform):
    props = props_for(platform, ecs_model(modelId="hm-scale"))
    provider = HostedModelProvider()
    outs = provider.create(props).outs
    news = scaled(props, maxCapacity=4, desiredCapacity=3)
    assert provider.diff("hm-scale", outs, news).replaces == []
    provider.update("hm-scale", outs, news)
    group = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["lisa-test-hm-scale"])["AutoScalingGroups"][0]
    service = aws.client("ecs").describe_services(cluster="lisa-test-models", services=["lisa-test-hm-scale"])["services"][0]
    target = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/lisa-test-models/lisa-test-hm-scale"])["ScalableTargets"][0]
    assert (group["MaxSize"], group["DesiredCapacity"]) == (4, 3)
    assert service["desiredCount"] == 3 and target["MaxCapacity"] == 4
    provider.delete("hm-scale", outs)


def test_stop_scales_everything_to_zero_and_is_not_ready(platform):
    props = props_for(platform, ecs_model(modelId="hm-stop"))
    provider = HostedModelProvider()
    outs = provider.create(props).outs
    stopped = provider.update("hm-stop", outs, {**props, "enabled": False}).outs
    group = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["lisa-test-hm-stop"])["AutoScalingGroups"][0]
    service = aws.client("ecs").describe_services(cluster="lisa-test-models", services=["lisa-test-hm-stop"])["services"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"], service["desiredCount"]) == (0, 0, 0, 0)
    assert stopped["ready"] is False
    provider.delete("hm-stop", stopped)


def test_delete_removes_every_part_and_a_second_delete_is_done(platform):
    props = props_for(platform, ecs_model(modelId="hm-delete"))
    provider = HostedModelProvider()
    outs = provider.create(props).outs
    before = model_inventory(platform[0], "hm-delete")
    provider.delete("hm-delete", outs)
    provider.delete("hm-delete", outs)
    assert set(before) >= {"launchTemplates", "autoScalingGroups", "capacityProviders", "taskDefinitions", "targetGroups",
                           "listenerRules", "services", "scalableTargets", "scalingPolicies", "logGroups"}
    assert model_inventory(platform[0], "hm-delete") == {}


def test_a_failed_create_leaves_nothing_behind(platform):
    outputs, _ = platform
    # A listener that does not exist: the rule (a late step) fails after the earlier parts were made.
    hosting = outputs.model_hosting.model_copy(update={"listener_arn": outputs.model_hosting.listener_arn + "0"})
    props = props_for(platform, ecs_model(modelId="hm-fail"), hosting=hosting)
    with pytest.raises(Exception, match="ListenerNotFound"):
        HostedModelProvider().create(props)
    assert model_inventory(outputs, "hm-fail") == {}


def test_concurrent_creates_keep_every_capacity_provider_on_the_cluster(platform):
    ids = [f"hm-par-{i}" for i in range(4)]
    results: dict[str, dict] = {}

    def create(model_id: str) -> None:
        results[model_id] = HostedModelProvider().create(props_for(platform, ecs_model(modelId=model_id))).outs

    threads = [threading.Thread(target=create, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cluster = aws.client("ecs").describe_clusters(clusters=["lisa-test-models"])["clusters"][0]
    assert {results[i]["capacityProviderName"] for i in ids} <= set(cluster["capacityProviders"])
    assert len({results[i]["rulePriority"] for i in ids}) == len(ids)
    for i in ids:
        HostedModelProvider().delete(i, results[i])


# Read (drift) and in-place container changes -------------------------------------------------------------------
def test_a_model_just_created_reads_without_drift(created):
    assert HostedModelProvider().read("hm-read", created).outs["drift"] == []


@pytest.fixture
def drifting(platform):
    props = props_for(platform, ecs_model(modelId="hm-drift"))
    provider = HostedModelProvider()
    outs = provider.create(props).outs
    yield provider, props, outs
    provider.delete("hm-drift", outs)


def test_read_names_each_part_changed_behind_the_platform(drifting, platform):
    provider, _, outs = drifting
    aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="lisa-test-hm-drift", MaxSize=3,
                                                        DesiredCapacity=3)
    aws.client("elbv2").delete_rule(RuleArn=outs["listenerRuleArn"])
    aws.client("ecs").deregister_task_definition(taskDefinition=outs["taskDefinitionArn"])
    found = {(d["part"], d["property"]): (d["expected"], d["actual"]) for d in provider.read("hm-drift", outs).outs["drift"]}
    assert found == {
        ("autoScalingGroup", "maxSize"): (1, 3), ("autoScalingGroup", "desiredCapacity"): (1, 3),
        ("listenerRule", ""): ("present", None),
        ("taskDefinition", "status"): ("ACTIVE", "INACTIVE"),
    }


def test_an_update_after_drift_puts_every_part_back(drifting, platform):
    provider, props, outs = drifting
    aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="lisa-test-hm-drift", MaxSize=3,
                                                        DesiredCapacity=3)
    aws.client("elbv2").delete_rule(RuleArn=outs["listenerRuleArn"])
    read = provider.read("hm-drift", outs).outs
    assert provider.diff("hm-drift", read, props).changes
    updated = provider.update("hm-drift", read, props).outs
    assert provider.read("hm-drift", updated).outs["drift"] == []
    assert not provider.diff("hm-drift", updated, props).changes


def test_a_container_change_registers_a_new_revision_and_rolls_it_through_the_service(drifting, platform):
    provider, props, outs = drifting
    news = {**props, "containerConfig": {**props["containerConfig"],
                                         "image": {"baseImage": "vllm/vllm-openai:v0.6.0", "type": "asset"},
                                         "environment": {"MAX_TOTAL_TOKENS": "4096"}}}
    decision = provider.diff("hm-drift", outs, news)
    assert (decision.changes, decision.replaces) == (True, [])
    updated = provider.update("hm-drift", outs, news).outs
    service = aws.client("ecs").describe_services(cluster="lisa-test-models", services=["lisa-test-hm-drift"])["services"][0]
    definition = aws.client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    model = next(c for c in definition["containerDefinitions"] if c["name"] == "model")
    assert service["taskDefinition"] == updated["taskDefinitionArn"] != outs["taskDefinitionArn"]
    assert model["image"] == "vllm/vllm-openai:v0.6.0"
    assert {"name": "MAX_TOTAL_TOKENS", "value": "4096"} in model["environment"]
    assert updated["listenerRuleArn"] == outs["listenerRuleArn"]  # nothing else was replaced
    assert provider.read("hm-drift", updated).outs["drift"] == []
