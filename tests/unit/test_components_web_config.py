"""The UI's config.json: one shape (components/web_config.py), whoever writes it.

The UI's side of the contract is web/src/config/runtimeConfig.ts (its type is generated from this model and its
tests parse this shape); here, what each producer writes."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from components.web_config import PasswordLogin, WebRuntimeConfig
from core.platform import AuthOutputs

AUTH = AuthOutputs(authority="https://issuer/", client_id="abc", admin_group="admins",
                   jwt_groups_property="realm_access.roles", additional_scopes=["email", "offline_access"])


def test_serve_origin_becomes_the_openai_base_url_and_urls_lose_trailing_slashes():
    config = WebRuntimeConfig.build(serve_origin="https://serve.example.com/", api_url="https://api.example.com/",
                                    auth=AUTH)
    assert (config.serve_url, config.api_url, config.auth.authority) == (
        "https://serve.example.com/v2/serve", "https://api.example.com", "https://issuer")


def test_the_sign_in_asks_for_the_base_scopes_then_the_deployments_own_once_each():
    config = WebRuntimeConfig.build(serve_origin="https://s", api_url="https://a", auth=AUTH)
    assert config.auth.scopes == ["openid", "profile", "email", "offline_access"]
    assert (config.auth.client_id, config.auth.admin_group, config.auth.jwt_groups_property) == (
        "abc", "admins", "realm_access.roles")


def test_the_ui_learns_the_api_group_whose_members_issue_their_own_tokens():
    assert WebRuntimeConfig.build(serve_origin="https://s", api_url="https://a", auth=AUTH).auth.api_group == ""
    with_group = AUTH.model_copy(update={"api_group": "api-users"})
    config = WebRuntimeConfig.build(serve_origin="https://s", api_url="https://a", auth=with_group)
    assert config.model_dump()["auth"]["apiGroup"] == "api-users"


def test_the_wire_shape_is_camel_case_with_password_login_only_when_given():
    deployed = WebRuntimeConfig.build(serve_origin="https://s", api_url="https://a", auth=AUTH).model_dump()
    assert sorted(deployed) == ["apiUrl", "auth", "serveUrl", "title"]
    assert sorted(deployed["auth"]) == ["adminGroup", "apiGroup", "authority", "clientId", "jwtGroupsProperty",
                                        "passwordLogin", "scopes"]
    assert deployed["auth"]["passwordLogin"] is None and deployed["title"] == "LISA"
    local = WebRuntimeConfig.build(serve_origin="http://127.0.0.1:1", api_url="http://127.0.0.1:2", auth=AUTH,
                                   password_login=PasswordLogin(cognito_endpoint="http://127.0.0.1:3", region="r"))
    assert local.model_dump()["auth"]["passwordLogin"] == {"cognitoEndpoint": "http://127.0.0.1:3", "region": "r"}


def test_what_is_written_reads_back_the_same_and_the_old_second_shape_is_refused():
    config = WebRuntimeConfig.build(serve_origin="https://s", api_url="https://a", auth=AUTH)
    assert WebRuntimeConfig.model_validate_json(config.model_dump_json()) == config
    old = {**config.model_dump(), "openAiBaseUrl": "https://s/v2/serve"}
    with pytest.raises(ValidationError, match="openAiBaseUrl"):
        WebRuntimeConfig.model_validate(old)


def test_the_ui_may_call_serve_the_api_the_issuer_and_the_password_endpoint():
    local = WebRuntimeConfig.build(serve_origin="http://127.0.0.1:1", api_url="http://127.0.0.1:2", auth=AUTH,
                                   password_login=PasswordLogin(cognito_endpoint="http://127.0.0.1:3", region="r"))
    assert local.connect_urls() == ["http://127.0.0.1:1/v2/serve", "http://127.0.0.1:2", "https://issuer",
                                    "http://127.0.0.1:3"]
    assert json.loads(local.model_dump_json())["serveUrl"] == "http://127.0.0.1:1/v2/serve"
