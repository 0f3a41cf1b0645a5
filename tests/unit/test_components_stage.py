"""The core stack program for each stage shape: what it registers, what it exports, how it fails."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.web_config import WebRuntimeConfig
from core.platform import ModelHostingOutputs, PlatformOutputs
from tests.unit.conftest import dev_stage, prod_stage
from tests.unit.pulumi_program import ACCOUNT, AwsMocks, plain, policy_documents, run_program

COMPONENTS = {"Network", "DataStores", "Auth", "ServeCluster", "ModelHosting", "RagStores", "ControlPlane", "ChatUi"}
NEW_VPC_TYPES = ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway",
                 "aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable", "aws:ec2/eip:Eip",
                 "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/route:Route")


def _components(run) -> set[str]:
    return {r.typ.removeprefix("lisa:components:") for r in run.resources if r.typ.startswith("lisa:components:")}


def test_the_dev_stage_registers_every_component(dev_run):
    assert COMPONENTS <= _components(dev_run)


def test_resource_names_are_unique_per_type(any_run):
    keys = [(r.typ, r.name) for r in any_run.resources]
    assert len(keys) == len(set(keys))


def test_the_platform_output_loads_as_platform_outputs(any_run):
    platform = PlatformOutputs.model_validate(any_run.outputs["platform"])
    assert platform.serve_url == any_run.outputs["serveUrl"]
    assert platform.api_url == any_run.outputs["apiUrl"]
    assert platform.web_url == any_run.outputs["webUrl"]
    assert platform.state_backend_url.startswith(f"s3://{platform.buckets.deployment_state}?")


def test_model_hosting_outputs_are_exactly_the_provider_inputs(dev_run):
    expected = {field.alias for field in ModelHostingOutputs.model_fields.values()}
    assert set(dev_run.outputs["platform"]["modelHosting"]) == expected


def test_the_dev_stage_exports_its_urls_and_static_models(dev_run):
    platform = dev_run.outputs["platform"]
    assert dev_run.outputs["openAiBaseUrl"] == f"{dev_run.outputs['serveUrl']}/v2/serve"
    assert [m["model_name"] for m in platform["staticModels"]] == ["claude-3-5-haiku", "titan-embed-text-v2"]
    assert [s["repository"]["repositoryId"] for s in platform["ragStores"]] == ["team-docs", "handbook"]


def test_the_provider_uses_the_stage_region_and_tags(dev_run):
    [provider] = dev_run.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["lisa:deployment"] == "lisa" and tags["lisa:stage"] == "dev" and tags["owner"] == "platform-team"


def test_a_pinned_account_is_enforced_and_not_looked_up(prod_run):
    [provider] = prod_run.of_type("pulumi:providers:aws")
    assert json.loads(provider.inputs["allowedAccountIds"]) == [ACCOUNT]
    assert "aws:index/getCallerIdentity:getCallerIdentity" not in prod_run.calls


def test_a_new_vpc_spans_two_azs_with_private_and_public_subnets(dev_run):
    subnets = {r.name: r.inputs for r in dev_run.of_type("aws:ec2/subnet:Subnet")}
    assert sorted(subnets) == ["network-private-0", "network-private-1", "network-public-0", "network-public-1"]
    assert {subnets[f"network-private-{i}"]["availabilityZone"] for i in (0, 1)} == {"us-east-1a", "us-east-1b"}
    assert not any(s.get("mapPublicIpOnLaunch") for s in subnets.values())
    assert len(dev_run.of_type("aws:ec2/natGateway:NatGateway")) == 1


def test_a_new_vpc_has_gateway_and_interface_endpoints(dev_run):
    services = {r.inputs["serviceName"].rsplit(".", 1)[-1] if "ecr" not in r.inputs["serviceName"]
                else r.inputs["serviceName"].split("us-east-1.")[1]: r.inputs["vpcEndpointType"]
                for r in dev_run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert services == {"s3": "Gateway", "dynamodb": "Gateway", "ecr.api": "Interface", "ecr.dkr": "Interface",
                        "logs": "Interface", "secretsmanager": "Interface", "sts": "Interface"}


def test_an_existing_vpc_creates_no_vpc_subnets_nat_or_endpoints(prod_run, internal_run):
    for run in (prod_run, internal_run):
        assert [r.typ for r in run.resources if r.typ in NEW_VPC_TYPES] == []
        assert run.outputs["platform"]["modelHosting"]["vpcId"] == "vpc-0abc1234def567890"


def test_an_existing_vpc_with_public_subnets_gets_internet_facing_albs_there(prod_run):
    for name in ("serve-app-alb", "api-app-alb"):
        alb = prod_run.named("aws:lb/loadBalancer:LoadBalancer", name)
        assert alb.inputs["internal"] is False
        assert alb.inputs["subnets"] == ["subnet-0ccc3333ddd44444a", "subnet-0ccc3333ddd44444b"]


def test_an_existing_vpc_without_public_subnets_gets_internal_albs_open_to_the_vpc_only(internal_run):
    for name in ("serve-app-alb", "api-app-alb"):
        alb = internal_run.named("aws:lb/loadBalancer:LoadBalancer", name)
        assert alb.inputs["internal"] is True
        assert alb.inputs["subnets"] == ["subnet-0aaa1111bbb22222a", "subnet-0aaa1111bbb22222b"]
    cidrs = {r.inputs.get("cidrIpv4") for r in internal_run.of_type(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r.name.startswith("network-public-alb-")}
    assert cidrs == {"10.99.0.0/16"}  # the VPC's CIDR, looked up


def test_external_oidc_creates_no_cognito_and_passes_its_settings_through(prod_run):
    assert [r for r in prod_run.resources if r.typ.startswith("aws:cognito/")] == []
    auth = prod_run.outputs["platform"]["auth"]
    assert auth == {"authority": "https://login.example.com/realms/lisa", "clientId": "lisa-web",
                    "adminGroup": "platform-admins", "jwtGroupsProperty": "realm_access.roles",
                    "additionalScopes": ["offline_access"], "userGroup": "", "ragAdminGroup": "", "apiGroup": ""}


def test_cognito_redirects_to_the_deployed_ui_and_the_configured_urls(dev_run):
    [client] = dev_run.of_type("aws:cognito/userPoolClient:UserPoolClient")
    web = dev_run.outputs["webUrl"]
    assert client.inputs["callbackUrls"] == [web, f"{web}/", "http://localhost:5173"]
    auth = dev_run.outputs["platform"]["auth"]
    assert auth["authority"] == f"https://cognito-idp.us-east-1.amazonaws.com/{auth['userPoolId']}"


def test_the_chat_ui_uploads_the_build_and_its_own_runtime_config(dev_run):
    objects = {r.inputs["key"]: r for r in dev_run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert sorted(objects) == ["assets/index-3f2a1b.js", "config.json", "index.html"]
    assert objects["assets/index-3f2a1b.js"].inputs["cacheControl"].endswith("immutable")
    config = WebRuntimeConfig.model_validate_json(objects["config.json"].inputs["content"])
    auth = dev_run.outputs["platform"]["auth"]
    assert config.serve_url == dev_run.outputs["openAiBaseUrl"] and config.api_url == dev_run.outputs["apiUrl"]
    assert config.auth.client_id == auth["clientId"] and config.auth.authority == auth["authority"]
    assert config.auth.password_login is None  # a deployment signs in through its IdP's own pages


def test_without_a_web_build_the_bucket_and_distribution_still_exist(prod_run, internal_run):
    for run in (prod_run, internal_run):
        assert [r.inputs["key"] for r in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")] == ["config.json"]
        assert len(run.of_type("aws:cloudfront/distribution:Distribution")) == 1


def test_apps_allow_the_chat_ui_origin(dev_run):
    definitions = {r.name: json.loads(r.inputs["containerDefinitions"])[0]
                   for r in dev_run.of_type("aws:ecs/taskDefinition:TaskDefinition")}
    serve_env = {e["name"]: e["value"] for e in definitions["serve-app-task"]["environment"]}
    api_env = {e["name"]: e["value"] for e in definitions["api-app-task"]["environment"]}
    assert serve_env["LISA_SERVE_CORS_ORIGINS"] == dev_run.outputs["webUrl"]
    assert api_env["LISA_CORS_ORIGINS"] == dev_run.outputs["webUrl"]
    assert serve_env["LISA_SERVE_HOST"] == "0.0.0.0"


def test_the_apps_read_a_platform_that_knows_where_serve_is(dev_run):
    versions = {r.name: json.loads(plain(r.inputs["secretString"]))
                for r in dev_run.of_type("aws:secretsmanager/secretVersion:SecretVersion") if "platform" in r.name}
    assert versions["api-app-platform-value"]["serveUrl"] == dev_run.outputs["serveUrl"]
    assert versions["api-app-platform-value"]["apiUrl"] == dev_run.outputs["apiUrl"]
    assert versions["serve-app-platform-value"]["serveUrl"] == dev_run.outputs["serveUrl"]
    PlatformOutputs.model_validate(versions["serve-app-platform-value"])


def test_serve_scales_on_requests_per_task_between_the_configured_bounds(dev_run):
    [target] = dev_run.of_type("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (1, 2)
    assert target.inputs["resourceId"] == "service/lisa-dev-serve/lisa-dev-serve"
    [policy] = dev_run.of_type("aws:appautoscaling/policy:Policy")
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget"
    assert tracking["targetValue"] == 200


def test_the_api_runs_one_task_that_stops_before_its_replacement_starts(dev_run):
    service = dev_run.named("aws:ecs/service:Service", "api-app-service")
    assert service.inputs["desiredCount"] == 1
    assert (service.inputs["deploymentMinimumHealthyPercent"], service.inputs["deploymentMaximumPercent"]) == (0, 100)


def test_a_self_signed_stage_imports_one_certificate_per_alb(dev_run, prod_run):
    certs = dev_run.of_type("aws:acm/certificate:Certificate")
    assert sorted(c.name for c in certs) == ["api-app-self-signed", "serve-app-self-signed"]
    assert all(c.inputs["certificateBody"].startswith("-----BEGIN CERTIFICATE-----") for c in certs)
    assert prod_run.of_type("aws:acm/certificate:Certificate") == []


def test_a_configured_image_builds_nothing_and_is_pulled_from_its_repository(prod_run, dev_run):
    assert prod_run.of_type("docker-build:index:Image") == []
    assert prod_run.of_type("aws:ecr/repository:Repository") == []
    [pull] = [s for s in policy_documents(prod_run)["serve-app-execution-policy"]["Statement"] if s["Sid"] == "EcrPull"]
    assert pull["Resource"] == [f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/lisa/apps"]
    assert len(dev_run.of_type("docker-build:index:Image")) == 1


def test_a_retained_stage_protects_its_data(prod_run):
    assert all(t.inputs["deletionProtectionEnabled"] for t in prod_run.of_type("aws:dynamodb/table:Table"))
    assert not any(b.inputs.get("forceDestroy") for b in prod_run.of_type("aws:s3/bucket:Bucket")
                   if not b.inputs["bucket"].startswith("lisa-prod-web-"))
    [db] = prod_run.of_type("aws:rds/instance:Instance")
    assert db.inputs["deletionProtection"] is True and db.inputs["skipFinalSnapshot"] is False
    assert db.inputs["multiAz"] is True


def test_a_destroyable_dev_stage_can_be_torn_down(dev_run):
    assert not any(t.inputs["deletionProtectionEnabled"] for t in dev_run.of_type("aws:dynamodb/table:Table"))
    assert all(b.inputs["forceDestroy"] for b in dev_run.of_type("aws:s3/bucket:Bucket"))


def _failing_run(stage: dict) -> tuple[str, AwsMocks]:
    mocks = AwsMocks("us-east-1")
    with pytest.raises(pulumi.RunError) as failure:
        run_program(stage, mocks=mocks)
    return str(failure.value), mocks


def test_an_invalid_stage_fails_before_any_resource_is_registered():
    stage = dev_stage(region="mars-1", certificate={"selfSigned": True, "acmCertificateArn": "nope"})
    message, mocks = _failing_run(stage)
    assert mocks.resources == [] and mocks.calls == []
    assert "region:" in message and "certificate.acmCertificateArn:" in message


def test_an_invalid_stage_lists_every_problem_with_its_field_path():
    stage = prod_stage()
    stage["serveConfig"] = {"minTasks": 5, "maxTasks": 2}
    stage["ragRepositories"][0]["chunkOverlap"] = 9999
    stage["litellmConfig"]["general_settings"]["master_key"] = "not-a-key"
    message, _ = _failing_run(stage)
    lines = [line.strip() for line in message.splitlines()[1:]]
    assert [line.split(":")[0] for line in lines] == [
        "- serveConfig.minTasks", "- ragRepositories[0].chunkOverlap", "- litellmConfig.general_settings.master_key"]
    assert "not-a-key" not in message  # a rejected secret is not echoed
