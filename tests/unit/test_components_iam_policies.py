"""IAM documents built from ARNs: every statement names its resources, "*" only for the commented allow-list."""

from __future__ import annotations

import pytest

from components import iam_policies as iam

ACCOUNT = iam.Account("aws", "us-east-1", "123456789012")
HOSTING = iam.HostingArns(
    cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/lisa-dev-models",
    cluster_name="lisa-dev-models",
    listener_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lisa-dev-models/abc/def",
    instance_role_arn="arn:aws:iam::123456789012:role/lisa-dev-model-instance",
    task_role_arn="arn:aws:iam::123456789012:role/lisa-dev-model-task",
    execution_role_arn="arn:aws:iam::123456789012:role/lisa-dev-model-execution",
    instance_security_group_id="sg-0123",
    private_subnet_ids=("subnet-a", "subnet-b"),
)
GRANTS = iam.ControlPlaneGrants(
    deployment="lisa", stage="dev",
    table_arns=("arn:aws:dynamodb:us-east-1:123456789012:table/lisa-dev-models",),
    state_bucket_arn="arn:aws:s3:::lisa-dev-deploy-state-123456789012",
    models_bucket_arn="arn:aws:s3:::lisa-dev-models-123456789012",
    rag_bucket_arn="arn:aws:s3:::lisa-dev-rag-docs-123456789012",
    master_key_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:lisa-dev/litellm-master-key-AbC",
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234",
    hosting=HOSTING,
    model_secret_prefix="lisa-dev/models/",
    model_log_group_prefix="/lisa/lisa-dev/models/",
    rag_domain_arns=("arn:aws:es:us-east-1:123456789012:domain/lisa-dev-kb",),
    sessions_bucket_arn="arn:aws:s3:::lisa-dev-sessions-123456789012",
    mcp_secret_prefix="lisa-dev/mcp/",
)


def _statements(doc: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in doc["Statement"]}


def test_a_write_action_on_every_resource_is_refused():
    with pytest.raises(ValueError, match="s3:PutObject on \\*"):
        iam.document(iam.statement("Bad", "s3:PutObject", "*"))


def test_a_wildcard_action_is_refused_even_on_a_named_resource():
    with pytest.raises(ValueError, match="wildcard action s3:\\*"):
        iam.document(iam.statement("Bad", "s3:*", "arn:aws:s3:::bucket"))


def test_allow_listed_actions_may_use_every_resource():
    doc = iam.document(iam.statement("Login", "ecr:GetAuthorizationToken", "*"))
    assert doc["Statement"][0]["Resource"] == ["*"]


def test_every_allow_listed_action_says_why():
    assert all(len(reason) > 10 for reason in iam.UNSCOPED_ACTIONS.values())


def test_the_control_plane_keeps_mcp_headers_and_session_files_only_under_their_own_names():
    s = _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS))
    assert s["McpConnectionHeaders"]["Resource"] == ["arn:aws:secretsmanager:us-east-1:123456789012:secret:lisa-dev/mcp/*"]
    assert s["SessionFilesObjects"]["Resource"] == ["arn:aws:s3:::lisa-dev-sessions-123456789012/*"]
    assert "secretsmanager:ListSecrets" not in s["McpConnectionHeaders"]["Action"]


def test_the_control_plane_manages_only_this_stages_model_parts():
    s = _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS))
    assert s["ModelServices"]["Resource"] == ["arn:aws:ecs:us-east-1:123456789012:service/lisa-dev-models/lisa-dev-*"]
    assert s["CapacityProviders"]["Resource"] == [
        "arn:aws:ecs:us-east-1:123456789012:capacity-provider/cp-lisa-dev-*"]
    assert s["ModelTargetGroups"]["Resource"] == [
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lisa-dev-*/*"]
    assert s["AutoScalingGroups"]["Resource"] == [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/lisa-dev-*"]
    assert s["ModelApiKeys"]["Resource"] == ["arn:aws:secretsmanager:us-east-1:123456789012:secret:lisa-dev/models/*"]


def test_only_this_stages_task_definitions_can_be_deleted():
    s = _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS))
    assert s["TaskDefinitionCleanup"]["Resource"] == [
        "arn:aws:ecs:us-east-1:123456789012:task-definition/lisa-dev-*:*"]


def test_launch_templates_are_created_and_changed_only_with_the_stage_tags():
    s = _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS))
    assert s["LaunchTemplatesCreate"]["Condition"] == {"StringEquals": {
        "aws:RequestTag/lisa:deployment": "lisa", "aws:RequestTag/lisa:stage": "dev"}}
    assert s["LaunchTemplatesManage"]["Condition"] == {"StringEquals": {
        "aws:ResourceTag/lisa:deployment": "lisa", "aws:ResourceTag/lisa:stage": "dev"}}


def test_model_instances_launch_only_into_the_private_subnets_and_instance_sg():
    resources = _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS))["RunInPrivateSubnets"]["Resource"]
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-a" in resources
    assert "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123" in resources
    assert not any(r.endswith(":subnet/*") or r.endswith(":security-group/*") for r in resources)


def test_listener_rules_are_scoped_to_the_model_listener():
    assert iam.listener_rule_arn_pattern(HOSTING.listener_arn) == (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lisa-dev-models/abc/def/*")
    with pytest.raises(ValueError):
        iam.listener_rule_arn_pattern("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/y")


def test_rag_grants_appear_only_when_there_are_stores():
    without = iam.ControlPlaneGrants(**{**GRANTS.__dict__, "rag_domain_arns": (), "rag_secret_arns": ()})
    sids = set(_statements(iam.control_plane_task_policy(ACCOUNT, without)))
    assert "RagOpenSearch" not in sids and "RagDbCredentials" not in sids
    assert _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS))["RagOpenSearch"]["Resource"] == [
        "arn:aws:es:us-east-1:123456789012:domain/lisa-dev-kb/*"]


def test_serve_decrypts_only_through_secrets_manager_and_dynamodb():
    grants = iam.ServeGrants("arn:t/models", "arn:t/tokens", "arn:s/master", "arn:k/key", "lisa-dev/models/")
    kms = _statements(iam.serve_task_policy(ACCOUNT, grants))["KmsViaServices"]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": [
        "dynamodb.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"]}}


def test_the_tls_deny_covers_the_bucket_and_its_objects():
    [deny] = iam.bucket_policy("arn:aws:s3:::b")["Statement"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_access_log_delivery_is_limited_to_our_account_and_buckets():
    stmt = iam.access_log_delivery("arn:aws:s3:::logs", "123456789012", ["arn:aws:s3:::lisa-dev-*"])
    assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                 "ArnLike": {"aws:SourceArn": ["arn:aws:s3:::lisa-dev-*"]}}


def test_ecs_task_roles_trust_only_this_account():
    [stmt] = iam.ecs_tasks_trust("123456789012")["Statement"]
    assert stmt["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_arns_follow_the_partition_and_drop_region_or_account_where_aws_does():
    gov = iam.Account("aws-us-gov", "us-gov-west-1", "123456789012")
    assert gov.arn("iam", "role/x", regional=False) == "arn:aws-us-gov:iam::123456789012:role/x"
    assert gov.arn("ssm", "parameter/aws/x", with_account=False) == "arn:aws-us-gov:ssm:us-gov-west-1::parameter/aws/x"
    assert iam.Account("aws-cn", "cn-north-1", "1").service_host("s3") == "s3.cn-north-1.amazonaws.com.cn"


def test_the_gpu_instance_role_is_the_ecs_agent_narrowed_to_one_cluster():
    doc = iam.model_instance_policy(ACCOUNT, cluster_arn=HOSTING.cluster_arn, cluster_name="lisa-dev-models",
                                    log_group_prefix="/lisa/lisa-dev/models/")
    agent = _statements(doc)["EcsAgent"]
    assert agent["Resource"] == [HOSTING.cluster_arn,
                                 "arn:aws:ecs:us-east-1:123456789012:container-instance/lisa-dev-models/*"]


def test_the_api_runs_instances_only_through_a_launch_template():
    statements = iam.control_plane_task_policy(ACCOUNT, GRANTS)["Statement"]
    runs = [s for s in statements if "ec2:RunInstances" in s["Action"]]
    assert {s["Sid"] for s in runs} == {"RunFromOwnTemplates", "RunInPrivateSubnets"}
    templates = "arn:aws:ec2:us-east-1:123456789012:launch-template/*"
    assert _statements({"Statement": runs})["RunInPrivateSubnets"]["Condition"] == {
        "ArnLike": {"ec2:LaunchTemplate": templates}}
    assert _statements({"Statement": runs})["RunFromOwnTemplates"]["Resource"] == [templates]


def test_gpu_instances_pull_no_images_themselves():
    doc = iam.model_instance_policy(ACCOUNT, cluster_arn=HOSTING.cluster_arn, cluster_name="lisa-dev-models",
                                    log_group_prefix="/lisa/lisa-dev/models/")
    assert not [a for s in doc["Statement"] for a in s["Action"] if a.startswith("ecr:")]


def test_model_tasks_pull_only_from_the_repositories_the_stage_names():
    repo = "arn:aws:ecr:us-east-1:123456789012:repository/team/vllm"
    doc = iam.model_execution_policy(ACCOUNT, log_group_prefix="/lisa/x/", image_repository_arns=[repo])
    assert _statements(doc)["EcrPull"]["Resource"] == [repo]
    none = iam.model_execution_policy(ACCOUNT, log_group_prefix="/lisa/x/")
    assert not [a for s in none["Statement"] for a in s["Action"] if a.startswith("ecr:")]


def test_opensearch_trusts_only_the_named_roles_not_the_account():
    role = "arn:aws:iam::123456789012:role/lisa-dev-api-task"
    [stmt] = iam.opensearch_access_policy("arn:aws:es:us-east-1:123456789012:domain/lisa-dev-kb", [role])["Statement"]
    assert stmt["Principal"] == {"AWS": [role]}


def test_the_scheduler_may_only_set_a_models_scheduled_action():
    doc = iam.model_scheduler_policy(ACCOUNT, models_table_arn=GRANTS.table_arns[0], kms_key_arn=GRANTS.kms_key_arn)
    update = _statements(doc)["ScheduledActionOnly"]
    assert (update["Action"], update["Resource"]) == (["dynamodb:UpdateItem"], [GRANTS.table_arns[0]])
    assert update["Condition"]["ForAllValues:StringEquals"] == {"dynamodb:Attributes": ["modelId", "scheduledAction"]}
    assert iam.unscoped_violations(doc) == []


def test_only_the_scheduler_service_of_this_account_assumes_the_scheduler_role():
    trust = iam.scheduler_trust("123456789012")["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_control_plane_manages_only_this_stages_schedules_and_passes_the_role_only_to_the_scheduler():
    hosting = iam.HostingArns(**{**HOSTING.__dict__, "scheduler_role_arn": "arn:aws:iam::123456789012:role/s"})
    grants = iam.ControlPlaneGrants(**{**GRANTS.__dict__, "hosting": hosting, "model_schedule_prefix": "lisa-dev-sched-"})
    statements = _statements(iam.control_plane_task_policy(ACCOUNT, grants))
    assert statements["ModelSchedules"]["Resource"] == [
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default/lisa-dev-sched-*"]
    assert statements["PassSchedulerRole"]["Resource"] == ["arn:aws:iam::123456789012:role/s"]
    assert statements["PassSchedulerRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    assert "ModelSchedules" not in _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS))


def test_pipelines_reach_only_the_listed_buckets_and_this_stages_queues_and_rules():
    assert not {"RagPipelineBuckets", "RagPipelineObjects", "RagPipelineQueues"} & set(
        _statements(iam.control_plane_task_policy(ACCOUNT, GRANTS)))
    piped = iam.ControlPlaneGrants(**{**GRANTS.__dict__, "pipeline_bucket_arns": ("arn:aws:s3:::team-inbox",)})
    s = _statements(iam.control_plane_task_policy(ACCOUNT, piped))
    assert s["RagPipelineBuckets"]["Resource"] == ["arn:aws:s3:::team-inbox"]
    assert s["RagPipelineObjects"] == {"Sid": "RagPipelineObjects", "Effect": "Allow", "Action": ["s3:GetObject"],
                                       "Resource": ["arn:aws:s3:::team-inbox/*"]}
    assert s["RagPipelineQueues"]["Resource"] == ["arn:aws:sqs:us-east-1:123456789012:lisa-dev-rag-*-pipeline"]
    assert s["RagPipelineRules"]["Resource"] == ["arn:aws:events:us-east-1:123456789012:rule/lisa-dev-rag-*"]
