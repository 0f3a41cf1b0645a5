"""Pure pieces of the app services, images, RAG stores, auth and stage context."""

from __future__ import annotations

import pytest

from components import app_containers
from components.app_image import ecr_repository_arn, lifecycle_policy
from components.auth import callback_urls
from components.rag_stores import opensearch_subnets, opensearch_zone_awareness
from components.serve_cluster import request_count_label
from components.stage_context import StageContext, partition_for
from core.config import RemovalPolicy, Stage


def _definition(app: str = "serve") -> dict:
    env = app_containers.app_environment(app=app, region="us-east-1", log_level="INFO", platform_json="{}",
                                         web_url="https://d1.cloudfront.net")
    [definition] = app_containers.app_container_definitions(
        app=app, image="repo@sha256:abc", region="us-east-1", log_group="/lisa/x/serve",
        platform_secret_arn="arn:secret", environment=env)
    return definition


def test_the_platform_arrives_as_a_secret_reference():
    assert _definition()["secrets"] == [{"name": "LISA_PLATFORM", "valueFrom": "arn:secret"}]


def test_each_app_runs_its_own_module_on_the_app_port():
    assert _definition("serve")["command"] == ["python", "-m", "services.serve"]
    assert _definition("api")["command"] == ["python", "-m", "services.api"]
    assert _definition()["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]


def test_serve_listens_on_all_interfaces_and_allows_the_ui_origin():
    env = {e["name"]: e["value"] for e in _definition("serve")["environment"]}
    assert env["LISA_SERVE_HOST"] == "0.0.0.0" and env["LISA_SERVE_PORT"] == "8080"
    assert env["LISA_SERVE_CORS_ORIGINS"] == "https://d1.cloudfront.net"


@pytest.mark.parametrize("app", ["serve", "api"])
def test_the_apps_own_settings_read_the_environment_the_task_gets(app, monkeypatch):
    from services.api.settings import ApiSettings
    from services.serve.settings import ServeSettings

    for item in _definition(app)["environment"]:
        monkeypatch.setenv(item["name"], item["value"])
    settings = ServeSettings() if app == "serve" else ApiSettings()
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.cors_origins == ["https://d1.cloudfront.net"]


def test_a_changed_platform_changes_the_digest_so_tasks_roll():
    assert app_containers.platform_digest('{"a": 1}') != app_containers.platform_digest('{"a": 2}')
    assert len(app_containers.platform_digest("{}")) == 16


def test_an_ecr_image_names_its_repository():
    assert ecr_repository_arn("123456789012.dkr.ecr.eu-west-1.amazonaws.com/lisa/apps:1.0", "aws") == (
        "arn:aws:ecr:eu-west-1:123456789012:repository/lisa/apps")
    assert ecr_repository_arn("123456789012.dkr.ecr.eu-west-1.amazonaws.com/apps@sha256:ab", "aws").endswith(
        ":repository/apps")


def test_an_image_from_another_registry_needs_no_ecr_permission():
    assert ecr_repository_arn("ghcr.io/example/lisa:1.0", "aws") is None


def test_the_image_repository_keeps_a_bounded_number_of_images():
    assert '"countNumber": 20' in lifecycle_policy()


def test_request_count_label_joins_the_alb_and_target_group_suffixes():
    assert request_count_label("app/lb/1", "targetgroup/tg/2") == "app/lb/1/targetgroup/tg/2"


@pytest.mark.parametrize(("nodes", "subnets"), [(1, ["a"]), (2, ["a", "b"]), (4, ["a", "b"])])
def test_opensearch_spreads_two_or_more_nodes_over_two_azs(nodes, subnets):
    assert opensearch_subnets(["a", "b", "c"], nodes) == subnets
    assert opensearch_zone_awareness(nodes)["zone_awareness_enabled"] is (nodes >= 2)


def test_cognito_callbacks_cover_the_ui_origin_with_and_without_a_slash():
    assert callback_urls("https://d1.cloudfront.net/", ["http://localhost:5173", "https://d1.cloudfront.net"]) == [
        "https://d1.cloudfront.net", "https://d1.cloudfront.net/", "http://localhost:5173"]


@pytest.mark.parametrize(("region", "partition"), [
    ("us-east-1", "aws"), ("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn"),
    ("us-iso-east-1", "aws-iso"), ("us-isob-east-1", "aws-iso-b")])
def test_the_partition_follows_the_region(region, partition):
    assert partition_for(region) == partition


def test_the_stage_context_derives_names_and_retention():
    ctx = StageContext("lisa", Stage.PROD, "eu-west-1", "123456789012", RemovalPolicy.RETAIN)
    assert (ctx.prefix, ctx.retain, ctx.log_retention_days) == ("lisa-prod", True, 365)
