"""What a security reviewer checks, read from the inputs of the resources the core stack registers.

Each test runs against every stage shape (dev: new VPC + Cognito + self-signed; prod: existing VPC + OIDC + ACM;
internal: existing VPC without public subnets).
"""

from __future__ import annotations

import json

from components.iam_policies import UNSCOPED_ACTIONS
from components.web_assets import origin as web_origin
from core import naming
from core.serve_heartbeats import HEARTBEATS_KEY
from core.tables import TABLES
from tests.unit.conftest import PROD_MASTER_KEY, STATIC_MODEL_KEY
from tests.unit.pulumi_program import ACCOUNT, ProgramRun, is_secret, plain, policy_documents

BUCKET = "aws:s3/bucket:Bucket"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
WRITE_VERBS = ("Create", "Put", "Delete", "Update", "Modify", "Register", "Deregister", "Set", "Run", "Pass",
               "Attach", "Add", "Tag", "Batch", "Submit", "Start", "Encrypt", "GenerateDataKey", "Decrypt")


def _for_bucket(run: ProgramRun, typ: str, bucket_id: str) -> list:
    return [r for r in run.of_type(typ) if plain(r.inputs.get("bucket")) == bucket_id]


def _sg_name(run: ProgramRun, sg_id: str) -> str:
    return next(r.name for r in run.of_type(SG) if r.id == sg_id)


def _private_subnets(run: ProgramRun) -> list[str]:
    return run.outputs["platform"]["modelHosting"]["privateSubnetIds"]


def test_every_bucket_blocks_all_public_access(any_run):
    for bucket in any_run.of_type(BUCKET):
        [block] = _for_bucket(any_run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket.id)
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(block.inputs[f] is True for f in flags), bucket.id


def test_every_bucket_disables_acls(any_run):
    for bucket in any_run.of_type(BUCKET):
        [ownership] = _for_bucket(any_run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket.id)
        assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_every_bucket_is_encrypted_at_rest(any_run):
    typ = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    for bucket in any_run.of_type(BUCKET):
        [sse] = _for_bucket(any_run, typ, bucket.id)
        default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] in ("aws:kms", "AES256"), bucket.id


def test_data_buckets_use_the_stage_kms_key(any_run):
    typ = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    key_arn = any_run.of_type("aws:kms/key:Key")[0]
    buckets = any_run.outputs["platform"]["buckets"]
    for name in (buckets["models"], buckets["ragDocuments"], buckets["deploymentState"]):
        [sse] = _for_bucket(any_run, typ, name)
        default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"].startswith("arn:aws:kms:"), key_arn


def test_every_bucket_policy_denies_requests_without_tls(any_run):
    for bucket in any_run.of_type(BUCKET):
        [policy] = _for_bucket(any_run, "aws:s3/bucketPolicy:BucketPolicy", bucket.id)
        arn = f"arn:aws:s3:::{bucket.id}"
        denies = [s for s in json.loads(plain(policy.inputs["policy"]))["Statement"] if s["Effect"] == "Deny"]
        assert {"Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}.items() <= denies[0].items(), bucket.id


def test_no_bucket_policy_allows_anonymous_principals(any_run):
    for policy in any_run.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        for stmt in json.loads(plain(policy.inputs["policy"]))["Statement"]:
            if stmt["Effect"] == "Allow":
                assert stmt["Principal"] not in ("*", {"AWS": "*"}), policy.name
                assert "Service" in stmt["Principal"] and "Condition" in stmt, policy.name


def test_every_bucket_but_the_log_bucket_logs_access_to_it(any_run):
    logs_bucket = naming.access_logs_bucket("lisa", any_run.outputs["platform"]["deploymentStage"], ACCOUNT)
    for bucket in any_run.of_type(BUCKET):
        loggings = _for_bucket(any_run, "aws:s3/bucketLogging:BucketLogging", bucket.id)
        if bucket.id == logs_bucket:
            assert loggings == []
        else:
            assert [r.inputs["targetBucket"] for r in loggings] == [logs_bucket], bucket.id


def test_the_deployment_state_bucket_is_versioned(any_run):
    state = any_run.outputs["platform"]["buckets"]["deploymentState"]
    [versioning] = _for_bucket(any_run, "aws:s3/bucketVersioning:BucketVersioning", state)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"


def test_rag_uploads_nobody_ingested_expire_after_a_day(any_run):
    rag = any_run.outputs["platform"]["buckets"]["ragDocuments"]
    [lifecycle] = _for_bucket(any_run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", rag)
    uploads = [r for r in lifecycle.inputs["rules"] if r.get("filter", {}).get("prefix") == "uploads/"]
    assert [(r["status"], r["expiration"]["days"]) for r in uploads] == [("Enabled", 1)]


def test_tables_are_encrypted_with_the_stage_key_and_recoverable(any_run):
    tables = any_run.of_type("aws:dynamodb/table:Table")
    assert len(tables) == len(TABLES)
    for table in tables:
        assert table.inputs["serverSideEncryption"]["enabled"] is True
        assert table.inputs["serverSideEncryption"]["kmsKeyArn"].startswith("arn:aws:kms:")
        assert table.inputs["pointInTimeRecovery"]["enabled"] is True


def test_the_kms_key_rotates(any_run):
    [key] = any_run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True


def test_every_secret_is_encrypted_with_the_stage_key_and_its_value_is_a_pulumi_secret(any_run):
    for secret in any_run.of_type("aws:secretsmanager/secret:Secret"):
        assert secret.inputs["kmsKeyId"].startswith("arn:aws:kms:"), secret.name
    for version in any_run.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert is_secret(version.inputs["secretString"]), version.name


def test_secrets_appear_only_inside_secret_values(prod_run):
    for resource in prod_run.resources:
        for key, value in resource.inputs.items():
            if resource.typ == "aws:secretsmanager/secretVersion:SecretVersion" and key == "secretString":
                continue
            text = json.dumps(plain(value))
            assert PROD_MASTER_KEY not in text and STATIC_MODEL_KEY not in text, f"{resource.name}.{key}"


def test_the_platform_output_is_secret_when_static_models_carry_keys(prod_run, dev_run):
    assert "platform" in prod_run.secret_outputs
    assert "platform" not in dev_run.secret_outputs
    assert PROD_MASTER_KEY not in json.dumps(prod_run.outputs)


def test_app_containers_get_the_platform_as_a_secret_not_as_environment(any_run):
    for task in any_run.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        [container] = json.loads(plain(task.inputs["containerDefinitions"]))
        assert [s["name"] for s in container["secrets"]] == ["LISA_PLATFORM"]
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert "LISA_PLATFORM" not in env and not any(v.startswith("sk-") for v in env.values())


def test_ecs_services_run_in_private_subnets_without_public_ips(any_run):
    services = any_run.of_type("aws:ecs/service:Service")
    assert len(services) == 2
    for service in services:
        network = service.inputs["networkConfiguration"]
        assert network["assignPublicIp"] is False
        assert sorted(network["subnets"]) == sorted(_private_subnets(any_run))


def test_no_security_group_accepts_the_internet_except_the_public_alb_on_443_and_80(any_run):
    open_rules = [r for r in any_run.of_type(INGRESS)
                  if r.inputs.get("cidrIpv4") == "0.0.0.0/0" or r.inputs.get("cidrIpv6") == "::/0"]
    for rule in open_rules:
        assert _sg_name(any_run, rule.inputs["securityGroupId"]) == "network-public-alb-sg"
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) in ((443, 443), (80, 80)), rule.name
    for group in any_run.of_type(SG):
        assert not group.inputs.get("ingress"), f"{group.name}: inline ingress bypasses these checks"


def test_port_80_only_redirects_to_https(any_run):
    for listener in any_run.of_type("aws:lb/listener:Listener"):
        if listener.inputs["port"] == 80 and listener.name != "model-hosting-listener":
            [action] = listener.inputs["defaultActions"]
            assert action["type"] == "redirect"
            assert (action["redirect"]["protocol"], action["redirect"]["port"]) == ("HTTPS", "443")


def test_https_listeners_use_a_certificate_and_a_tls13_policy(any_run):
    https = [r for r in any_run.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443]
    assert len(https) == 2
    for listener in https:
        assert listener.inputs["protocol"] == "HTTPS"
        assert listener.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
        assert listener.inputs["certificateArn"].startswith("arn:aws:")


def test_load_balancers_drop_invalid_headers(any_run):
    for alb in any_run.of_type("aws:lb/loadBalancer:LoadBalancer"):
        assert alb.inputs["dropInvalidHeaderFields"] is True


def test_the_model_alb_is_internal_and_reachable_from_the_app_tasks_only(any_run):
    alb = any_run.named("aws:lb/loadBalancer:LoadBalancer", "model-hosting-alb")
    assert alb.inputs["internal"] is True
    [alb_sg] = alb.inputs["securityGroups"]
    sources = {_sg_name(any_run, r.inputs["referencedSecurityGroupId"])
               for r in any_run.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_sg}
    assert sources == {"network-serve-tasks-sg", "network-api-tasks-sg"}
    assert all("cidrIpv4" not in r.inputs for r in any_run.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_sg)


def test_gpu_instances_are_reachable_from_the_model_alb_only(any_run):
    [instance_sg] = any_run.outputs["platform"]["modelHosting"]["instanceSecurityGroupIds"]
    rules = [r for r in any_run.of_type(INGRESS) if r.inputs["securityGroupId"] == instance_sg]
    assert [_sg_name(any_run, r.inputs["referencedSecurityGroupId"]) for r in rules] == ["model-hosting-alb-sg"]


def test_app_tasks_are_reachable_from_the_alb_only(any_run):
    for app in ("serve", "api"):
        sg_id = next(r.id for r in any_run.of_type(SG) if r.name == f"network-{app}-tasks-sg")
        rules = [r for r in any_run.of_type(INGRESS) if r.inputs["securityGroupId"] == sg_id]
        assert [_sg_name(any_run, r.inputs["referencedSecurityGroupId"]) for r in rules] == ["network-public-alb-sg"]


def test_rag_stores_are_reachable_from_the_app_tasks_only(any_run):
    rag_groups = {r.id for r in any_run.of_type(SG) if r.name.startswith("rag-")}
    assert len(rag_groups) == 2
    rules = [r for r in any_run.of_type(INGRESS) if r.inputs["securityGroupId"] in rag_groups]
    assert {_sg_name(any_run, r.inputs["referencedSecurityGroupId"]) for r in rules} == {
        "network-serve-tasks-sg", "network-api-tasks-sg"}
    assert all("cidrIpv4" not in r.inputs and "cidrIpv6" not in r.inputs for r in rules)


def test_postgres_stores_are_private_encrypted_and_tls_only(any_run):
    [db] = any_run.of_type("aws:rds/instance:Instance")
    assert db.inputs["publiclyAccessible"] is False
    assert db.inputs["storageEncrypted"] is True and db.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert db.inputs["manageMasterUserPassword"] is True and "password" not in db.inputs
    [subnets] = any_run.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert sorted(subnets.inputs["subnetIds"]) == sorted(_private_subnets(any_run))
    [params] = any_run.of_type("aws:rds/parameterGroup:ParameterGroup")
    assert {"name": "rds.force_ssl", "value": "1"} in params.inputs["parameters"]
    assert int(params.inputs["family"].removeprefix("postgres")) >= 16


def test_opensearch_stores_are_in_the_vpc_encrypted_and_fine_grained(any_run):
    [domain] = any_run.of_type("aws:opensearch/domain:Domain")
    assert set(domain.inputs["vpcOptions"]["subnetIds"]) <= set(_private_subnets(any_run))
    assert domain.inputs["encryptAtRest"]["enabled"] is True
    assert domain.inputs["nodeToNodeEncryption"]["enabled"] is True
    assert domain.inputs["domainEndpointOptions"]["enforceHttps"] is True
    security = domain.inputs["advancedSecurityOptions"]
    assert security["enabled"] is True and security["internalUserDatabaseEnabled"] is False
    stage = any_run.outputs["platform"]["deploymentStage"]
    assert security["masterUserOptions"]["masterUserArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/{naming.app_task_role('lisa', stage, 'api')}")
    [stmt] = json.loads(domain.inputs["accessPolicies"])["Statement"]
    assert stmt["Principal"] == {"AWS": [security["masterUserOptions"]["masterUserArn"]]}  # not the whole account


def test_the_api_task_role_is_the_opensearch_master_user(any_run):
    role = any_run.named("aws:iam/role:Role", "api-app-task-role")
    [domain] = any_run.of_type("aws:opensearch/domain:Domain")
    assert domain.inputs["advancedSecurityOptions"]["masterUserOptions"]["masterUserArn"].endswith(
        f":role/{role.inputs['name']}")


def test_iam_grants_unscoped_access_only_for_the_commented_allow_list(any_run):
    policies = policy_documents(any_run)
    assert {"model-hosting-instance-policy", "model-hosting-task-policy", "model-hosting-execution-policy",
            "serve-app-task-policy", "serve-app-execution-policy", "api-app-task-policy",
            "api-app-execution-policy"} <= set(policies)
    for name, doc in policies.items():
        for stmt in doc["Statement"]:
            actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), name
            if "*" in stmt["Resource"]:
                assert set(actions) <= set(UNSCOPED_ACTIONS), f"{name}/{stmt['Sid']}"
    assert all(reason.strip() for reason in UNSCOPED_ACTIONS.values())


def test_write_actions_on_wildcards_are_only_the_allow_listed_ones(any_run):
    for name, doc in policy_documents(any_run).items():
        for stmt in doc["Statement"]:
            if "*" not in stmt["Resource"]:
                continue
            writes = [a for a in stmt["Action"] if a.split(":")[1].startswith(WRITE_VERBS)]
            assert all(a in UNSCOPED_ACTIONS for a in writes), f"{name}/{stmt['Sid']}: {writes}"


def test_roles_can_pass_only_the_model_hosting_roles(any_run):
    hosting = any_run.outputs["platform"]["modelHosting"]
    expected = {hosting["taskRoleArn"], hosting["executionRoleArn"],
                hosting["instanceProfileArn"].replace(":instance-profile/", ":role/")}
    statements = [s for doc in policy_documents(any_run).values() for s in doc["Statement"]]
    passes = {s["Sid"]: s for s in statements if "iam:PassRole" in s["Action"]}
    assert set(passes) == {"PassHostingRoles", "PassSchedulerRole"}
    assert set(passes["PassHostingRoles"]["Resource"]) == expected
    assert "iam:PassedToService" in passes["PassHostingRoles"]["Condition"]["StringEquals"]
    # The models' schedules' role, and only to EventBridge Scheduler.
    assert passes["PassSchedulerRole"]["Resource"] == [hosting["schedulerRoleArn"]]
    assert passes["PassSchedulerRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_no_role_gets_iam_rights_beyond_passing_roles_and_service_linked_roles(any_run):
    for doc in policy_documents(any_run).values():
        for stmt in doc["Statement"]:
            iam = {a for a in stmt["Action"] if a.startswith("iam:")}
            assert iam <= {"iam:PassRole", "iam:CreateServiceLinkedRole"}


def test_the_serve_task_role_writes_only_governance_tables_and_no_secret(any_run):
    doc = policy_documents(any_run)["serve-app-task-policy"]
    stage = any_run.outputs["platform"]["deploymentStage"]
    writes = [s for s in doc["Statement"] if s["Sid"] != "ServeHeartbeat" and any(
        a.startswith(("dynamodb:", "secretsmanager:")) and a.split(":")[1].startswith(
            ("Put", "Update", "Delete", "BatchWrite", "Create")) for a in s["Action"])]
    written = {r.split(":table/")[1].split("/")[0] for s in writes for r in s["Resource"]}
    assert written == {naming.usage_table("lisa", stage), naming.audit_table("lisa", stage),
                       naming.rate_limits_table("lisa", stage)}
    assert not {a for s in writes for a in s["Action"]} & {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert all(not a.startswith("secretsmanager:Put") for s in doc["Statement"] for a in s["Action"])


def test_the_serve_task_role_updates_only_its_heartbeat_item_of_the_models_table(any_run):
    doc = policy_documents(any_run)["serve-app-task-policy"]
    stage = any_run.outputs["platform"]["deploymentStage"]
    [beat] = [s for s in doc["Statement"] if s["Sid"] == "ServeHeartbeat"]
    assert beat["Action"] == ["dynamodb:UpdateItem"]
    assert [r.split(":table/")[1] for r in beat["Resource"]] == [naming.models_table("lisa", stage)]
    assert beat["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [HEARTBEATS_KEY]}}


def test_the_serve_task_role_reads_only_its_tables_and_secrets(any_run):
    doc = policy_documents(any_run)["serve-app-task-policy"]
    stage = any_run.outputs["platform"]["deploymentStage"]
    reads = [s for s in doc["Statement"] if s["Sid"] in ("ModelRegistryRead", "ApiTokensRead")]
    resources = {r for s in reads for r in s["Resource"]}
    assert {r.split(":table/")[1].split("/")[0] for r in resources} == {
        naming.models_table("lisa", stage), naming.tokens_table("lisa", stage)}
    [secrets] = [s for s in doc["Statement"] if s["Sid"] == "Secrets"]
    assert secrets["Resource"][1].endswith(f":secret:{naming.model_api_key_secret_prefix('lisa', stage)}*")


def test_task_roles_trust_only_ecs_tasks_of_this_account(any_run):
    for role in any_run.of_type("aws:iam/role:Role"):
        [stmt] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        if stmt["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}:
            assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, role.name


def test_the_public_site_bucket_is_readable_only_by_its_distribution(any_run):
    site = any_run.outputs["platform"]["buckets"]["web"]
    [policy] = _for_bucket(any_run, "aws:s3/bucketPolicy:BucketPolicy", site)
    [allow] = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Effect"] == "Allow"]
    [distribution] = any_run.of_type("aws:cloudfront/distribution:Distribution")
    assert allow["Action"] == "s3:GetObject"
    distribution_arn = f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution.id}"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution_arn}}


def test_the_chat_ui_is_served_over_https_only(any_run):
    [distribution] = any_run.of_type("aws:cloudfront/distribution:Distribution")
    behaviors = [distribution.inputs["defaultCacheBehavior"], *distribution.inputs["orderedCacheBehaviors"]]
    assert {b["viewerProtocolPolicy"] for b in behaviors} == {"redirect-to-https"}
    [origin] = distribution.inputs["origins"]
    assert origin["originAccessControlId"]


def test_cognito_requires_strong_passwords_and_a_public_code_flow_client(dev_run):
    [pool] = dev_run.of_type("aws:cognito/userPool:UserPool")
    policy = pool.inputs["passwordPolicy"]
    assert policy["minimumLength"] >= 12 and all(
        policy[k] for k in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols"))
    assert pool.inputs["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    [client] = dev_run.of_type("aws:cognito/userPoolClient:UserPoolClient")
    assert client.inputs["generateSecret"] is False
    assert client.inputs["allowedOauthFlows"] == ["code"]
    assert "ALLOW_USER_PASSWORD_AUTH" not in client.inputs["explicitAuthFlows"]


def test_vpc_flow_logs_are_on_and_the_default_security_group_allows_nothing(dev_run):
    [flow] = dev_run.of_type("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    [default] = dev_run.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs.get("ingress", []) == [] and default.inputs.get("egress", []) == []


def test_every_resource_belongs_to_a_component(any_run):
    for resource in any_run.resources:
        parent = resource.type_chain[0]
        if resource.typ.startswith("pulumi:providers:"):
            continue
        if resource.typ.startswith("lisa:components:"):
            assert parent in ("pulumi:pulumi:Stack", *(f"lisa:components:{c}" for c in ("DataStores", "ChatUi",
                              "ServeCluster", "ControlPlane"))), resource.name
        else:
            assert parent.startswith("lisa:components:"), f"{resource.typ} {resource.name} is not a component's child"


def test_the_apps_keep_connections_open_longer_than_their_load_balancers(any_run):
    """Else an app closes a connection its ALB is reusing and the ALB answers 502."""
    for app, variable in (("serve", "LISA_SERVE_KEEP_ALIVE_S"), ("api", "LISA_KEEP_ALIVE_S")):
        alb = any_run.named("aws:lb/loadBalancer:LoadBalancer", f"{app}-app-alb")
        task = any_run.named("aws:ecs/taskDefinition:TaskDefinition", f"{app}-app-task")
        [container] = json.loads(plain(task.inputs["containerDefinitions"]))
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert int(env[variable]) > alb.inputs["idleTimeout"], app


def test_the_api_in_aws_publishes_no_docs(any_run):
    task = any_run.named("aws:ecs/taskDefinition:TaskDefinition", "api-app-task")
    [container] = json.loads(plain(task.inputs["containerDefinitions"]))
    assert {"name": "LISA_API_DOCS", "value": "false"} in container["environment"]


def test_model_roles_pull_images_only_from_the_stages_model_repositories(dev_run, prod_run):
    for run, expected in ((dev_run, set()), (prod_run, {f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/models/vllm"})):
        policies = policy_documents(run)
        assert not [a for s in policies["model-hosting-instance-policy"]["Statement"] for a in s["Action"]
                    if a.startswith("ecr:")]
        pulls = [s for s in policies["model-hosting-execution-policy"]["Statement"] if s["Sid"] == "EcrPull"]
        assert {r for s in pulls for r in s["Resource"]} == expected
        hosting = run.outputs["platform"]["modelHosting"]
        assert set(hosting["imageRepositoryArns"]) == expected


def test_the_api_role_runs_instances_only_through_a_launch_template(any_run):
    statements = policy_documents(any_run)["api-app-task-policy"]["Statement"]
    runs = [s for s in statements if "ec2:RunInstances" in s["Action"]]
    assert runs
    for stmt in runs:
        on_templates_only = all(":launch-template/" in r for r in stmt["Resource"])
        assert on_templates_only or stmt.get("Condition", {}).get("ArnLike", {}).get("ec2:LaunchTemplate"), stmt["Sid"]



def test_cloudfront_sends_the_uis_security_headers_with_a_csp_naming_only_its_apis(any_run):
    [policy] = any_run.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    [distribution] = any_run.of_type("aws:cloudfront/distribution:Distribution")
    behaviors = [distribution.inputs["defaultCacheBehavior"], *distribution.inputs["orderedCacheBehaviors"]]
    assert {b["responseHeadersPolicyId"] for b in behaviors} == {policy.id}
    config = policy.inputs["securityHeadersConfig"]
    assert config["contentTypeOptions"]["override"] is True and config["frameOptions"]["frameOption"] == "DENY"
    csp = dict(d.strip().split(" ", 1) for d in config["contentSecurityPolicy"]["contentSecurityPolicy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["img-src"] == "'self' data: blob:" and csp["frame-ancestors"] == "'none'"
    platform = any_run.outputs["platform"]
    expected = {"'self'", platform["serveUrl"], platform["apiUrl"], web_origin(platform["auth"]["authority"])}
    if platform["auth"].get("userPoolId"):  # Cognito: its token endpoint lives on the hosted UI domain
        expected.add(next(o for o in csp["connect-src"].split() if o.endswith(".amazoncognito.com")))
    assert set(csp["connect-src"].split()) == expected
