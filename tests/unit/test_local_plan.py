"""The local stack's plan (services/local/plan.py): ports, URLs, the children's environment and the UI's config,
derived without starting a process."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.platform import AuthOutputs, Buckets, ModelHostingOutputs, PlatformOutputs, RagStoreOutputs
from core.config import RagRepositoryConfig
from services.local.plan import LocalPlan, PlanError, choose_ports, pulumi_root
from services.local.ports import PortInUseError
from services.local.settings import PORTS, LocalSettings
from services.local.state import StateFolder
from tests.fixtures.sample_platform import sample_tables

PORTS_USED = {"emulator_port": 5100, "pg_port": 5101, "embeddings_port": 5102, "serve_port": 5103,
              "api_port": 5104, "web_port": 5105, "opensearch_port": 5107}


def accept(port: int, purpose: str, hint: str) -> int:
    return port


@pytest.fixture
def plan(tmp_path: Path) -> LocalPlan:
    settings = LocalSettings(state_dir=tmp_path / "state", **PORTS_USED)
    return LocalPlan(settings, StateFolder(settings.state_dir), dict(PORTS_USED), "eu-west-1", tmp_path / "pulumi",
                     repo=tmp_path / "repo", python="/venv/bin/python")


def platform(**overrides) -> PlatformOutputs:
    hosting = ModelHostingOutputs(cluster_name="c", cluster_arn="arn:c", load_balancer_arn="arn:lb", listener_arn="arn:l",
                                  load_balancer_dns_name="lb", vpc_id="vpc-1", private_subnet_ids=["s1"],
                                  instance_security_group_ids=["sg"], instance_profile_arn="arn:p",
                                  task_role_arn="arn:t", execution_role_arn="arn:e")
    values = dict(deployment_name="lisa", deployment_stage="dev", region="eu-west-1",
                  tables=sample_tables(),
                  buckets=Buckets(models="b1", rag_documents="b2", deployment_state="b3"), master_key_secret_id="mk",
                  auth=AuthOutputs(authority="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
                                   client_id="client", admin_group="admins", user_pool_id="eu-west-1_abc",
                                   jwks_url="http://127.0.0.1:9999/eu-west-1_abc/.well-known/jwks.json"),
                  model_hosting=hosting)
    return PlatformOutputs(**{**values, **overrides})


# ---- ports
def test_unset_ports_get_free_ones_and_set_ones_are_kept():
    picked = iter(range(6000, 6010))
    settings = LocalSettings(**{**{field: 0 for field in PORTS}, "serve_port": 7000})
    ports = choose_ports(settings, pick=lambda: next(picked), check=accept)
    others = sorted(p for f, p in ports.items() if f != "serve_port")
    assert ports["serve_port"] == 7000 and others == list(range(6000, 6000 + len(PORTS) - 1))


def test_without_the_local_chat_model_no_port_is_taken_for_it():
    settings = LocalSettings(**{**PORTS_USED, "generation_port": 5106})
    assert "generation_port" in choose_ports(settings, check=accept)
    assert "generation_port" not in choose_ports(settings.model_copy(update={"local_chat_model": False}), check=accept)


def test_two_parts_on_one_port_are_refused_naming_both():
    settings = LocalSettings(**{**PORTS_USED, "api_port": 5103})
    with pytest.raises(PlanError, match="port 5103 is given to both the serve gateway .* and the api app"):
        choose_ports(settings, check=accept)


def test_a_taken_port_is_refused_with_the_flag_that_changes_it():
    def taken(port: int, purpose: str, hint: str) -> int:
        if port == PORTS_USED["web_port"]:
            raise PortInUseError(port, purpose, hint)
        return port

    with pytest.raises(PortInUseError, match="port 5105 .* the web UI .*--web-port or LISA_WEB_PORT"):
        choose_ports(LocalSettings(**PORTS_USED), check=taken)


def test_the_pulumi_cli_is_found_in_the_cache_for_the_pinned_version(tmp_path: Path):
    (tmp_path / "tools/pulumi").mkdir(parents=True)
    (tmp_path / "tools/pulumi/go.mod").write_text("require (\n\tgithub.com/pulumi/pulumi/pkg/v3 v3.1.2\n)\n")
    assert pulumi_root(tmp_path, {"LISA_CACHE": "/cache"}) == Path("/cache/pulumi/v3.1.2")
    assert pulumi_root(tmp_path, {"LISA_PULUMI_ROOT": "/opt/pulumi"}) == Path("/opt/pulumi")


# ---- URLs and the platform
def test_endpoints_are_on_the_chosen_ports(plan: LocalPlan):
    e = plan.endpoints()
    assert (e.serve, e.api, e.web, e.postgres) == ("http://127.0.0.1:5103/v2/serve", "http://127.0.0.1:5104",
                                                  "http://127.0.0.1:5105", "127.0.0.1:5101")
    assert e.opensearch == "http://127.0.0.1:5107"


def test_a_warm_start_moves_the_last_platform_to_this_runs_ports(plan: LocalPlan):
    docs = RagRepositoryConfig(repository_id="docs", type="pgvector")
    search = RagRepositoryConfig(repository_id="search", type="opensearch")
    previous = platform(serve_url="http://127.0.0.1:1/", rag_stores=[
        RagStoreOutputs(repository=docs, port=1, credentials_secret_arn="arn:pg"),
        RagStoreOutputs(repository=search, endpoint="http://127.0.0.1:2", port=2)])
    moved = plan.relocated(previous)
    assert moved.serve_url == "http://127.0.0.1:5103" and moved.api_url == "http://127.0.0.1:5104"
    assert moved.auth.jwks_url == "http://127.0.0.1:5100/eu-west-1_abc/.well-known/jwks.json"
    assert (moved.rag_stores[0].port, moved.rag_stores[0].credentials_secret_arn) == (5101, "arn:pg")
    assert (moved.rag_stores[1].endpoint, moved.rag_stores[1].port) == ("http://127.0.0.1:5107", 5107)
    assert moved.state_backend_url == f"file://{plan.state.pulumi_backend}"


def test_the_web_config_points_the_ui_at_this_runs_apps_and_the_emulators_sign_in(plan: LocalPlan):
    config = plan.web_config(platform()).model_dump()
    assert config["serveUrl"] == "http://127.0.0.1:5103/v2/serve"
    assert config["apiUrl"] == "http://127.0.0.1:5104"
    assert config["auth"]["passwordLogin"] == {"cognitoEndpoint": "http://127.0.0.1:5100", "region": "eu-west-1"}
    assert config["title"] == "LISA (local)"


# ---- environments and commands
def test_children_get_the_emulator_not_the_callers_aws_credentials(plan: LocalPlan):
    env = plan.child_env({"AWS_PROFILE": "prod", "AWS_SECRET_ACCESS_KEY": "real", "LISA_PLATFORM": "{}",
                          "PATH": "/usr/bin", "HOME": "/home/u"}, "passphrase")
    assert "AWS_PROFILE" not in env and "LISA_PLATFORM" not in env and env["HOME"] == "/home/u"
    assert env["AWS_SECRET_ACCESS_KEY"] == "testing" and env["LISA_AWS_ENDPOINT_URL"] == "http://127.0.0.1:5100"
    assert env["PATH"].startswith(f"{plan.pulumi_root / 'bin'}:")
    assert env["PULUMI_BACKEND_URL"] == env["LISA_PULUMI_BACKEND_URL"] == f"file://{plan.state.pulumi_backend}"
    assert env["LISA_SERVE_CORS_ORIGINS"] == "http://127.0.0.1:5105,http://localhost:5105"


def test_the_api_serves_its_docs_locally(plan: LocalPlan):
    assert plan.child_env({}, "p")["LISA_API_DOCS"] == "true"


def test_the_apps_read_the_platform_file_and_the_api_listens_on_its_port(plan: LocalPlan):
    commands = plan.app_commands("postgresql://pg")
    assert set(commands) == {"serve", "api", "web"}
    argv, env = commands["api"]
    assert argv == ["/venv/bin/python", "-m", "services.api"]
    assert env == {"LISA_PLATFORM_FILE": str(plan.state.platform_file), "LISA_RAG_PG_DSN": "postgresql://pg",
                   "LISA_RAG_OPENSEARCH_URL": "http://127.0.0.1:5107", "LISA_HOST": "127.0.0.1", "LISA_PORT": "5104"}
    assert commands["web"][0][-2:] == ["--config", str(plan.state.web_config)]


def test_the_emulator_restores_and_saves_its_snapshot_in_the_state_folder(plan: LocalPlan):
    argv = plan.service_commands()["emulator"]
    assert argv[argv.index("--snapshot") + 1] == str(plan.state.snapshot)
    assert argv[argv.index("--port") + 1] == "5100"


def test_the_local_chat_model_starts_with_the_model_servers_on_its_port(tmp_path: Path):
    ports = {**PORTS_USED, "generation_port": 5106}
    settings = LocalSettings(state_dir=tmp_path / "state", **ports)
    plan = LocalPlan(settings, StateFolder(settings.state_dir), ports, "eu-west-1", tmp_path / "pulumi")
    argv = plan.service_commands()["generation"]
    assert argv[-3:] == ["services.generation", "--port", "5106"]
    assert plan.ready_url("generation") == "http://127.0.0.1:5106/health"
    assert plan.endpoints().chat == plan.chat_url == "http://127.0.0.1:5106/v1"
    assert plan.child_env({}, "p")["LISA_GENERATION_PORT"] == "5106"


def test_without_the_local_chat_model_nothing_of_it_starts(plan: LocalPlan):
    assert "generation" not in plan.service_commands() and plan.endpoints().chat is None
    assert "LISA_GENERATION_PORT" not in plan.child_env({}, "p")

