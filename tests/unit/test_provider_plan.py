"""The hosted model's pure half: AWS request arguments from a spec, and the in-place-vs-replace decision."""

from __future__ import annotations

import base64

import pytest

from core.models import ModelSpec
from core.platform import ModelHostingOutputs
from providers import hosted_model_plan as plan
from providers.drift import drift
from providers.hosted_model_plan import HostedModelArgs
from providers.instance_types import CPU_AMI_PARAMETER, GPU_AMI_PARAMETER, instance_shape
from tests.fixtures.model_payloads import ecs_model

HOSTING = ModelHostingOutputs(
    cluster_name="lisa-test-models",
    cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/lisa-test-models",
    load_balancer_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lisa-test-models/0123456789abcdef",
    listener_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lisa-test-models/0123456789abcdef/fedcba9876543210",
    load_balancer_dns_name="internal-lisa-test-models.us-east-1.elb.amazonaws.com",
    vpc_id="vpc-0123456789abcdef0",
    private_subnet_ids=["subnet-0000000000000000a", "subnet-0000000000000000b"],
    instance_security_group_ids=["sg-0000000000000000a"],
    instance_profile_arn="arn:aws:iam::123456789012:instance-profile/lisa-test-model-instance",
    task_role_arn="arn:aws:iam::123456789012:role/lisa-test-model-task",
    execution_role_arn="arn:aws:iam::123456789012:role/lisa-test-model-execution",
)
TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lisa-test-mistral-vllm/00112233aabbccdd"


def args_for(payload: dict | None = None, **rest) -> HostedModelArgs:
    spec = ModelSpec.model_validate(payload or ecs_model())
    base = dict(deployment_name="lisa", deployment_stage="test", region="us-east-1", hosting=HOSTING,
                models_bucket="lisa-test-models-123456789012")
    return HostedModelArgs.from_spec(spec, **{**base, **rest})


def container(task: dict, name: str) -> dict:
    return next(c for c in task["containerDefinitions"] if c["name"] == name)


# Instance types ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("instance_type, gpus", [("g5.xlarge", 1), ("g5.12xlarge", 4), ("g5.48xlarge", 8),
                                                 ("g4dn.12xlarge", 4), ("p4d.24xlarge", 8), ("p3.2xlarge", 1)])
def test_gpu_count_comes_from_the_instance_type(instance_type, gpus):
    assert instance_shape(instance_type).gpus == gpus


def test_gpu_instances_boot_the_gpu_ami_and_cpu_instances_the_standard_one():
    assert instance_shape("g5.xlarge").ami_parameter == GPU_AMI_PARAMETER
    assert instance_shape("m5.xlarge").ami_parameter == CPU_AMI_PARAMETER
    assert instance_shape("m5.xlarge").memory_gib == 16


def test_an_unknown_instance_type_is_refused_naming_the_known_families():
    with pytest.raises(ValueError, match="g5"):
        instance_shape("x9.huge")


def test_spec_check_refuses_an_unknown_instance_type():
    with pytest.raises(ValueError, match="instanceType"):
        plan.check_hosted_spec(ModelSpec.model_validate(ecs_model(instanceType="zz1.large")))


def test_spec_check_refuses_a_health_check_timeout_not_below_its_interval():
    payload = ecs_model()
    payload["loadBalancerConfig"]["healthCheckConfig"].update(interval=30, timeout=30)
    with pytest.raises(ValueError, match="loadBalancerConfig.healthCheckConfig"):
        plan.check_hosted_spec(ModelSpec.model_validate(payload))


# Task definition --------------------------------------------------------------------------------------------------
def test_task_definition_requests_every_gpu_of_the_instance():
    task = plan.task_definition_args(args_for(ecs_model(instanceType="g5.12xlarge")))
    assert container(task, "model")["resourceRequirements"] == [{"type": "GPU", "value": "4"}]


def test_task_definition_on_a_cpu_instance_requests_no_gpu():
    task = plan.task_definition_args(args_for(ecs_model(instanceType="m5.2xlarge", inferenceContainer="tei")))
    assert "resourceRequirements" not in container(task, "model")


def test_task_definition_carries_image_environment_and_shared_memory():
    model = container(plan.task_definition_args(args_for()), "model")
    env = {e["name"]: e["value"] for e in model["environment"]}
    assert model["image"] == "vllm/vllm-openai:v0.5.0"
    assert env["MAX_TOTAL_TOKENS"] == "2048" and env["LISA_MODEL_ID"] == "mistral-vllm"
    assert model["linuxParameters"]["sharedMemorySize"] == 2048


def test_task_definition_carries_the_container_health_check():
    model = container(plan.task_definition_args(args_for()), "model")
    assert model["healthCheck"] == {"command": ["CMD-SHELL", "exit 0"], "interval": 10, "timeout": 5, "retries": 3,
                                    "startPeriod": 30}


def test_weights_are_synced_from_the_model_bucket_before_the_server_starts():
    task = plan.task_definition_args(args_for())
    weights, model = container(task, "weights"), container(task, "model")
    assert "s3://lisa-test-models-123456789012/mistralai/Mistral-7B-Instruct-v0.2" in weights["command"]
    assert model["dependsOn"] == [{"containerName": "weights", "condition": "SUCCESS"}]


def test_task_logs_go_to_the_model_log_group():
    model = container(plan.task_definition_args(args_for()), "model")
    assert model["logConfiguration"]["options"]["awslogs-group"] == "/lisa/lisa-test/models/mistral-vllm"


def test_vllm_gets_the_weights_path_as_its_model_argument():
    model = container(plan.task_definition_args(args_for()), "model")
    assert model["command"][:2] == ["--model", "/models/mistralai/Mistral-7B-Instruct-v0.2"]


def test_tgi_reads_the_weights_path_from_its_environment():
    model = container(plan.task_definition_args(args_for(ecs_model(inferenceContainer="tgi"))), "model")
    env = {e["name"]: e["value"] for e in model["environment"]}
    assert "command" not in model and env["MODEL_ID"] == "/models/mistralai/Mistral-7B-Instruct-v0.2"


def test_task_memory_fits_on_the_instance():
    task = plan.task_definition_args(args_for())
    assert int(task["memory"]) < 16 * 1024
    assert sum(c["memoryReservation"] for c in task["containerDefinitions"]) <= int(task["memory"])


# Capacity and autoscaling -----------------------------------------------------------------------------------------
def test_capacity_follows_the_autoscaling_config():
    payload = ecs_model()
    payload["autoScalingConfig"].update(minCapacity=1, maxCapacity=4, desiredCapacity=2)
    assert plan.capacity(args_for(payload)) == plan.Capacity(1, 4, 2)


def test_a_disabled_model_has_no_capacity():
    assert plan.capacity(args_for(enabled=False)) == plan.Capacity(0, 0, 0)


def test_auto_scaling_group_spans_the_private_subnets_with_the_model_capacity():
    request = plan.auto_scaling_group_args(args_for(), "lt-0123")
    assert request["VPCZoneIdentifier"] == "subnet-0000000000000000a,subnet-0000000000000000b"
    assert (request["MinSize"], request["MaxSize"], request["DesiredCapacity"]) == (1, 1, 1)


def test_instances_join_the_shared_cluster_with_gpu_support():
    script = base64.b64decode(plan.user_data(args_for())).decode()
    assert "ECS_CLUSTER=lisa-test-models" in script and "ECS_ENABLE_GPU_SUPPORT=true" in script
    assert '"lisa.model":"mistral-vllm"' in script


def test_scaling_policy_tracks_alb_requests_per_target():
    policy = plan.scaling_policy_args(args_for(), TG_ARN)
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 30.0 and config["ScaleInCooldown"] == 420
    assert config["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ALBRequestCountPerTarget",
        "ResourceLabel": "app/lisa-test-models/0123456789abcdef/targetgroup/lisa-test-mistral-vllm/00112233aabbccdd",
    }


def test_scalable_target_bounds_the_service_desired_count():
    target = plan.scalable_target_args(args_for())
    assert target["ResourceId"] == "service/lisa-test-models/lisa-test-mistral-vllm"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 1)


# Load balancing ---------------------------------------------------------------------------------------------------
def test_target_group_checks_health_as_the_load_balancer_config_says():
    request = plan.target_group_args(args_for())
    assert request["HealthCheckPath"] == "/health"
    assert (request["HealthCheckIntervalSeconds"], request["HealthCheckTimeoutSeconds"]) == (60, 30)
    assert (request["HealthyThresholdCount"], request["UnhealthyThresholdCount"]) == (2, 10)
    assert len(request["Name"]) <= 32


def test_listener_rule_routes_the_model_header_to_the_target_group():
    rule = plan.listener_rule_args(args_for(), TG_ARN, 7)
    assert rule["Conditions"] == [{"Field": "http-header",
                                   "HttpHeaderConfig": {"HttpHeaderName": "X-Lisa-Model", "Values": ["mistral-vllm"]}}]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": TG_ARN}] and rule["Priority"] == 7


def test_a_described_rule_is_recognised_as_the_model_rule():
    rule = {"Conditions": plan.rule_conditions("mistral-vllm")}
    assert plan.is_model_rule(rule, "mistral-vllm") and not plan.is_model_rule(rule, "other")


def test_pick_priority_is_stable_per_model_and_skips_used_ones():
    first = plan.pick_priority(set(), "mistral-vllm")
    assert plan.pick_priority(set(), "mistral-vllm") == first
    assert plan.pick_priority({first}, "mistral-vllm") != first
    assert 1 <= first <= plan.MAX_RULE_PRIORITY


def test_service_places_tasks_on_the_model_capacity_provider_behind_its_target_group():
    service = plan.service_args(args_for(), "arn:task:1", TG_ARN)
    assert service["capacityProviderStrategy"][0]["capacityProvider"] == "cp-lisa-test-mistral-vllm"
    assert service["loadBalancers"][0]["targetGroupArn"] == TG_ARN and service["desiredCount"] == 1


def test_endpoint_is_the_shared_model_alb():
    assert plan.endpoint(args_for()) == "http://internal-lisa-test-models.us-east-1.elb.amazonaws.com/v1"


# Diff -------------------------------------------------------------------------------------------------------------
def _props(payload: dict | None = None, **rest) -> dict:
    return {**args_for(payload, **rest).props(), "leaseTable": "t", "ready": True}


def test_diff_reports_no_change_for_the_same_inputs():
    assert plan.diff_hosted_model(_props(), _props()) == plan.DiffDecision(changes=False, replaces=[])


def test_diff_treats_integral_floats_as_the_same_number():
    olds = _props()
    olds["autoScalingConfig"] = {k: float(v) if isinstance(v, int) else v for k, v in olds["autoScalingConfig"].items()}
    assert not plan.diff_hosted_model(olds, _props()).changes


def test_diff_changes_capacity_in_place():
    payload = ecs_model()
    payload["autoScalingConfig"].update(maxCapacity=4, desiredCapacity=3)
    decision = plan.diff_hosted_model(_props(), _props(payload))
    assert (decision.changes, decision.replaces, decision.capacity_only) == (True, [], True)


def test_diff_stops_a_model_in_place():
    decision = plan.diff_hosted_model(_props(), _props(enabled=False))
    assert (decision.changes, decision.replaces, decision.capacity_only) == (True, [], True)


@pytest.mark.parametrize("change, key", [
    ({"instanceType": "g5.2xlarge"}, "instanceType"),
    ({"modelName": "mistralai/Other"}, "modelName"),
    ({"inferenceContainer": "tgi"}, "inferenceContainer"),
])
def test_diff_replaces_for_a_new_instance_type_model_name_or_server(change, key):
    assert plan.diff_hosted_model(_props(), _props(ecs_model(**change))).replaces == [key]


@pytest.mark.parametrize("change", [
    lambda p: p["containerConfig"]["image"].update(baseImage="vllm/vllm-openai:v0.6.0"),
    lambda p: p["containerConfig"]["environment"].update(MAX_TOTAL_TOKENS="4096"),
    lambda p: p["containerConfig"].update(sharedMemorySize=4096),
    lambda p: p["containerConfig"]["healthCheckConfig"].update(retries=5),
    lambda p: p["loadBalancerConfig"]["healthCheckConfig"].update(path="/ping"),
], ids=["image tag", "environment", "shared memory", "container health check", "load balancer health check"])
def test_diff_changes_container_and_health_check_settings_in_place(change):
    payload = ecs_model()
    change(payload)
    decision = plan.diff_hosted_model(_props(), _props(payload))
    assert (decision.changes, decision.replaces, decision.capacity_only) == (True, [], False)


def test_diff_counts_drift_found_by_a_refresh_as_an_in_place_change():
    olds = {**_props(), "drift": [{"part": "service", "property": "desiredCount", "expected": 1, "actual": 3}]}
    decision = plan.diff_hosted_model(olds, _props())
    assert (decision.changes, decision.replaces, decision.capacity_only) == (True, [], False)


@pytest.mark.parametrize("desired, maximum, expected", [
    (2, 4, (50, 100)), (3, 3, (50, 100)), (1, 2, (100, 200)), (1, 1, (0, 100)),
], ids=["two tasks", "three tasks", "one task that may surge", "one task alone"])
def test_a_rollout_keeps_half_the_tasks_or_surges_one_unless_the_model_has_a_single_instance(desired, maximum,
                                                                                              expected):
    payload = ecs_model()
    payload["autoScalingConfig"].update(minCapacity=min(desired, maximum), maxCapacity=maximum, desiredCapacity=desired)
    config = plan.deployment_configuration(args_for(payload))
    assert (config["minimumHealthyPercent"], config["maximumPercent"]) == expected
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_drift_names_each_property_that_differs_and_each_missing_part():
    expected = {"autoScalingGroup": {"minSize": 1, "desiredCapacity": 1}, "listenerRule": {"targetGroupArn": "tg"},
                "taskDefinition": {"containerDefinitions": {"model": {"environment": {"A": "1"}}}}}
    observed = {"autoScalingGroup": {"minSize": 1.0, "desiredCapacity": 3}, "listenerRule": None,
                "taskDefinition": {"containerDefinitions": {"model": {"environment": {"A": "2"}, "cpu": 0}}}}
    assert drift(expected, observed) == [
        {"part": "autoScalingGroup", "property": "desiredCapacity", "expected": 1, "actual": 3},
        {"part": "listenerRule", "property": "", "expected": "present", "actual": None},
        {"part": "taskDefinition", "property": "containerDefinitions.model.environment.A", "expected": "1",
         "actual": "2"},
    ]


def test_the_expected_state_of_a_stopped_model_has_no_capacity():
    state = plan.expected_state(args_for(enabled=False), "arn:tg")
    assert state["autoScalingGroup"] == {"minSize": 0, "maxSize": 0, "desiredCapacity": 0}
    assert state["service"] == {"status": "ACTIVE", "desiredCount": 0}


def test_diff_ignores_readiness_settings():
    changed = _props(readiness=plan.Readiness(rule="deployed", timeout_seconds=5))
    assert not plan.diff_hosted_model(_props(), changed).changes


def test_diff_looks_again_at_a_model_that_was_not_ready():
    olds = {**_props(), "ready": False}
    assert plan.diff_hosted_model(olds, _props()) == plan.DiffDecision(changes=True, replaces=[])


def test_diff_leaves_a_stopped_unready_model_alone():
    olds = {**_props(enabled=False), "ready": False}
    assert not plan.diff_hosted_model(olds, _props(enabled=False)).changes


# The instance role stays out of the containers' reach ---------------------------------------------------------
def test_gpu_instances_answer_metadata_requests_only_from_the_instance_itself():
    options = plan.launch_template_args(args_for(), "ami-1")["LaunchTemplateData"]["MetadataOptions"]
    assert options == {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}


def test_containers_on_the_bridge_cannot_reach_the_metadata_address():
    script = base64.b64decode(plan.user_data(args_for())).decode()
    assert ("iptables --insert FORWARD 1 --in-interface docker+ --destination 169.254.169.254/32 --jump DROP"
            in script.splitlines())


# Model images come from the repositories the stage names --------------------------------------------------------
ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/vllm:0.6"


def _with_image(image: str) -> ModelSpec:
    payload = ecs_model()
    payload["containerConfig"]["image"] = {"baseImage": image, "type": "ecr"}
    return ModelSpec.model_validate(payload)


def test_an_image_from_a_named_ecr_repository_or_a_public_registry_passes():
    assert plan.image_pull_problem(ECR_IMAGE, ["arn:aws:ecr:us-east-1:123456789012:repository/team/vllm"]) is None
    assert plan.image_pull_problem("vllm/vllm-openai:v0.6.0", []) is None
    plan.check_hosted_spec(_with_image(ECR_IMAGE), ["arn:aws:ecr:us-east-1:123456789012:repository/team/vllm"])


@pytest.mark.parametrize("allowed", [[], ["arn:aws:ecr:us-east-1:123456789012:repository/team/other"],
                                     ["arn:aws:ecr:eu-west-1:123456789012:repository/team/vllm"]])
def test_an_image_from_another_ecr_repository_is_refused_before_deploying(allowed):
    assert "modelImageRepositories" in plan.image_pull_problem(ECR_IMAGE, allowed)
    with pytest.raises(ValueError, match="containerConfig.image.baseImage: .*modelImageRepositories"):
        plan.check_hosted_spec(_with_image(ECR_IMAGE), allowed)


def test_naming_another_image_repository_does_not_replace_running_models():
    olds = {**args_for().props(), "ready": True}
    news = args_for(hosting=HOSTING.model_copy(update={"image_repository_arns": ["arn:aws:ecr:us-east-1:1:repository/x"]})).props()
    assert plan.diff_hosted_model(olds, news) == plan.DiffDecision(changes=False, replaces=[])
