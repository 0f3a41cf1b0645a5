"""The local stack's pure pieces: the stage it derives, the models it registers, what it prints, its settings."""

from __future__ import annotations

import json

import pytest

from components.web_config import PasswordLogin, WebRuntimeConfig
from core.errors import ConfigError
from core.platform import AuthOutputs
from services.local import banner, preview, registrations
from services.local.settings import LocalSettings
from services.local.stage import localize
from tests.fixtures.stage import stage_dict

LOCAL_KEY = "sk-local-0123456789abcdef"


def oidc_stage(**overrides):
    return stage_dict(authConfig={"provider": "oidc", "authority": "https://idp.example.com", "clientId": "abc",
                                  "adminGroup": "ops"}, **overrides)


# ---- stage
def test_local_stage_uses_the_emulators_cognito_with_the_configured_admin_group():
    raw, notes = localize(oidc_stage(), master_key=LOCAL_KEY)
    assert raw["authConfig"] == {"provider": "cognito", "adminGroup": "ops"}
    assert any("idp.example.com" in n for n in notes)


def test_local_stage_keeps_lisas_role_groups():
    stage = oidc_stage()
    stage["authConfig"].update(apiGroup="api-users", ragAdminGroup="rag-admins", userGroup="")
    raw, _ = localize(stage, master_key=LOCAL_KEY)
    assert raw["authConfig"] == {"provider": "cognito", "adminGroup": "ops", "apiGroup": "api-users",
                                 "ragAdminGroup": "rag-admins"}


def test_local_stage_replaces_the_master_key():
    raw, _ = localize(stage_dict(), master_key=LOCAL_KEY)
    assert raw["litellmConfig"]["general_settings"]["master_key"] == LOCAL_KEY


def test_local_stage_keeps_opensearch_repositories_for_the_embedded_node():
    raw, notes = localize(stage_dict(), master_key=LOCAL_KEY)
    assert {r["repositoryId"]: r["type"] for r in raw["ragRepositories"]} == {
        "docs": "pgvector", "docs-os": "opensearch", "search": "opensearch"}
    assert not any("OpenSearch" in n for n in notes)


def test_local_stage_drops_an_existing_vpc_and_the_account_pin():
    existing = {"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": ["subnet-01234567", "subnet-89abcdef"]}
    raw, _ = localize(stage_dict(vpc=existing, accountNumber="123456789012"), master_key=LOCAL_KEY)
    assert raw["vpc"] == {} and "accountNumber" not in raw


def test_local_stage_refuses_prod():
    with pytest.raises(ConfigError, match="dev or test"):
        localize(stage_dict(deploymentStage="prod"), master_key=LOCAL_KEY)


def test_local_stage_leaves_out_static_models_served_by_aws():
    models = [{"model_name": name, "litellm_params": {"model": model}, "lisa_params": {"model_type": "textgen"}}
              for name, model in (("haiku", "bedrock/anthropic.claude"), ("local", "openai/llama"))]
    raw, notes = localize(stage_dict(litellmConfig={"general_settings": {"master_key": "sk-x-123456789"},
                                                    "model_list": models}), master_key=LOCAL_KEY)
    assert [m["model_name"] for m in raw["litellmConfig"]["model_list"]] == ["local"]
    assert any("haiku" in n for n in notes)


def test_local_stage_drops_encrypted_static_model_params():
    model = {"model_name": "m", "litellm_params": {"model": "openai/m", "api_key": {"secure": "AAA"}},
             "lisa_params": {"model_type": "textgen"}}
    raw, _ = localize(stage_dict(litellmConfig={"general_settings": {"master_key": {"secure": "x"}},
                                                "model_list": [model]}), master_key=LOCAL_KEY)
    assert raw["litellmConfig"]["model_list"][0]["litellm_params"] == {"model": "openai/m"}


# ---- registrations
@pytest.mark.parametrize("name, expected", [("llama3.1:8b", "llama3-1-8b"), ("Qwen/Qwen2.5-7B-Instruct",
                                                                          "qwen-qwen2-5-7b-instruct"),
                                            ("stand-in-chat", "stand-in-chat")])
def test_model_id_is_derived_from_the_upstream_name(name, expected):
    assert registrations.model_id_for(name) == expected


def test_upstream_chat_model_payload_is_a_streaming_openai_model_at_the_upstream():
    payload = registrations.upstream_payload("http://127.0.0.1:11434/v1", "llama3.1:8b", "key-1")
    assert payload == {"modelId": "llama3-1-8b", "modelName": "openai/llama3.1:8b", "modelType": "textgen",
                       "streaming": True, "modelUrl": "http://127.0.0.1:11434/v1", "apiKey": "key-1"}


def test_upstream_embedding_models_are_registered_as_embedding_models():
    payload = registrations.upstream_payload("http://127.0.0.1:11434/v1", "nomic-embed-text")
    assert (payload["modelType"], payload["streaming"]) == ("embedding", False)


def test_a_model_is_registered_again_when_its_url_changed():
    record = {"modelName": "openai/all-minilm-l6-v2", "modelUrl": "http://127.0.0.1:8083/v1"}
    moved = registrations.local_payload("http://127.0.0.1:9000/v1", "all-minilm-l6-v2", "embedding")
    assert not registrations.same_target(record, moved)


# ---- banner
def facts(**overrides) -> banner.BannerFacts:
    endpoints = banner.Endpoints(web="http://127.0.0.1:3000", serve="http://127.0.0.1:8080/v2/serve",
                                 api="http://127.0.0.1:8081", emulator="http://127.0.0.1:5055",
                                 postgres="127.0.0.1:55432", opensearch="http://127.0.0.1:9200",
                                 embeddings="http://127.0.0.1:8083/v1")
    values = dict(endpoints=endpoints, admin_username="admin", admin_password="Pw-1a!", api_token="lisa-tok",
                  state_dir="/s", ready_s=12.3)
    return banner.BannerFacts(**{**values, **overrides})


def test_banner_gives_urls_login_and_token():
    text = banner.render(facts())
    for expected in ("http://127.0.0.1:3000", "http://127.0.0.1:8080/v2/serve", "http://127.0.0.1:8081",
                     "admin / Pw-1a!", "lisa-tok", "ready in 12.3s", "OpenSearch http://127.0.0.1:9200"):
        assert expected in text


def test_banner_says_how_to_add_a_model_when_no_upstream_is_configured():
    assert "LISA_UPSTREAM_URL=" in banner.render(facts(upstream_configured=False))
    assert "LISA_UPSTREAM_URL=" not in banner.render(facts(upstream_configured=True))


def test_banner_names_the_local_chat_model_and_still_says_how_to_add_a_bigger_one():
    text = banner.render(facts(local_chat_model="smollm2-135m-instruct"))
    assert "Chat works offline with smollm2-135m-instruct" in text and "No chat model yet" not in text
    assert "LISA_UPSTREAM_URL=" in text
    assert "No chat model yet" in banner.render(facts())


def test_the_local_chat_models_are_streaming_textgen_models():
    payload = registrations.local_payload("http://127.0.0.1:8084/v1", "smollm2-135m-instruct", "textgen")
    assert payload == {"modelId": "smollm2-135m-instruct", "modelName": "openai/smollm2-135m-instruct",
                       "modelType": "textgen", "streaming": True, "modelUrl": "http://127.0.0.1:8084/v1"}


# ---- settings
def test_upstream_models_come_as_a_comma_list(monkeypatch):
    monkeypatch.setenv("LISA_UPSTREAM_MODELS", "a, b,,c")
    assert LocalSettings().upstream_models == ["a", "b", "c"]


def test_flags_override_environment(monkeypatch):
    monkeypatch.setenv("LISA_SERVE_PORT", "9000")
    assert LocalSettings(serve_port=9100).serve_port == 9100


# ---- preview
def test_preview_groups_resources_under_their_components():
    stack = "urn:pulumi:dev::lisa::pulumi:pulumi:Stack::lisa-dev"
    nodes = [
        preview.Node(stack, "pulumi:pulumi:Stack", "lisa-dev", "", False),
        preview.Node("urn:c", "lisa:components:Network", "network", stack, False),
        preview.Node("urn:v", "aws:ec2/vpc:Vpc", "network-vpc", "urn:c", True),
        preview.Node("urn:p", "pulumi:providers:aws", "aws", stack, True),
    ]
    roots = preview.build_tree(nodes)
    assert [(r.name, [c.name for c in r.children]) for r in roots] == [("network", ["network-vpc"]), ("aws", [])]


def test_preview_substitutes_secure_values():
    values, notes = preview.decrypt_nothing(
        {"lisa:litellmConfig": json.dumps({"general_settings": {"master_key": {"secure": "v1:abc"}}})})
    assert json.loads(values["lisa:litellmConfig"])["general_settings"]["master_key"] == preview.SECRET_PLACEHOLDER
    assert notes and "general_settings.master_key" in notes[0]


# ---- the UI's static server
LOCAL_WEB_CONFIG = WebRuntimeConfig.build(
    serve_origin="http://127.0.0.1:8080", api_url="http://127.0.0.1:8081",
    auth=AuthOutputs(authority="https://cognito-idp.us-east-1.amazonaws.com/pool", client_id="c", admin_group="a"),
    password_login=PasswordLogin(cognito_endpoint="http://127.0.0.1:5055", region="us-east-1"))


@pytest.fixture
def web_client(tmp_path):
    from starlette.testclient import TestClient

    from services.local.web import create_app

    (tmp_path / "index.html").write_text("<html>app</html>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("js")
    (tmp_path / "config.json").write_text(LOCAL_WEB_CONFIG.model_dump_json())
    return TestClient(create_app(tmp_path, tmp_path / "config.json"))


def test_web_serves_index_for_client_side_routes(web_client):
    assert web_client.get("/chat/some-session").text == "<html>app</html>"


def test_web_keeps_404_for_a_missing_asset(web_client):
    assert web_client.get("/assets/missing.js").status_code == 404


def test_web_serves_the_runtime_config_uncached(web_client):
    response = web_client.get("/config.json")
    assert response.json()["serveUrl"].endswith("/v2/serve") and response.headers["cache-control"] == "no-store"


def test_web_answers_carry_the_security_headers_with_a_csp_naming_only_the_configured_apps(web_client):
    for path in ("/", "/chat/some-session", "/assets/app.js", "/config.json", "/assets/missing.js"):
        headers = web_client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        csp = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
        assert csp["default-src"] == "'self'" and csp["img-src"] == "'self' data: blob:"
        assert csp["frame-ancestors"] == "'none'"
        assert set(csp["connect-src"].split()) == {"'self'", "http://127.0.0.1:8080", "http://127.0.0.1:8081",
                                                   "https://cognito-idp.us-east-1.amazonaws.com",
                                                   "http://127.0.0.1:5055"}


# ---- private files
def test_a_leftover_temporary_file_cannot_widen_the_secrets_files_mode(tmp_path):
    from services.local.state import StateFolder

    state = StateFolder(tmp_path / "state")
    state.create()
    leftover = state.root / "secrets.json.tmp"  # an interrupted write's, world-readable
    for write in (state.secrets, lambda: state.save_api_token("lisa-token")):
        leftover.write_text("{}")
        leftover.chmod(0o644)
        write()
        assert (state.root / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_the_emulator_snapshot_is_private_even_over_a_leftover(tmp_path):
    from services.local.snapshots import write_snapshot

    snapshot = tmp_path / "snapshot.pickle"
    (tmp_path / "snapshot.pickle.tmp").write_bytes(b"old")
    (tmp_path / "snapshot.pickle.tmp").chmod(0o644)
    write_snapshot(snapshot, b"state")
    assert snapshot.read_bytes() == b"state" and snapshot.stat().st_mode & 0o777 == 0o600
