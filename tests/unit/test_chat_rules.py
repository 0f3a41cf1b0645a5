"""Pure rules of the chat's server-side features: template variables and sharing, images in a session's history,
documents fitted to a context window, the configuration's defaults."""

from __future__ import annotations

import base64

import pytest

from core.errors import InvalidInputError, PermissionDeniedError
from services.api.chat_files import ChatFileSettings, fitted
from services.api.configuration_store import DEFAULT_COMPONENTS, wire
from services.api.prompt_template_store import can_see, check_groups, matches, variables
from services.api.session_images import ImageTooLargeError, decode_image, with_fresh_urls, without_urls
from services.identity.principal import Principal
from services.rag.parsing import Page

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


def user(uid, *groups, admin=False):
    return Principal(id=uid, username=uid, groups=groups, is_admin=admin, method="token")


def test_variables_are_listed_once_in_order_of_use():
    assert variables("Hi {{name}}, about {{ topic }}; bye {{name}}. {{ not valid! }} {{}}") == ["name", "topic"]


def test_template_visibility_follows_lisas_groups():
    public = {"owner": "a", "groups": ["lisa:public"]}
    team = {"owner": "a", "groups": ["group:team"]}
    private = {"owner": "a", "groups": []}
    assert can_see(public, user("b")) and can_see(team, user("b", "team")) and not can_see(team, user("b"))
    assert not can_see(private, user("b")) and can_see(private, user("x", admin=True))


def test_users_share_templates_with_everyone_or_their_own_groups():
    check_groups(user("b", "team"), ["lisa:public", "group:team"])
    with pytest.raises(PermissionDeniedError):
        check_groups(user("b"), ["group:team"])


def test_search_looks_at_title_and_body_case_blind():
    item = {"title": "Code Reviewer", "body": "Be thorough.", "type": "persona"}
    assert matches(item, "REVIEW", None) and matches(item, "thorough", "persona") and not matches(item, "x", None)
    assert not matches(item, None, "directive")


def test_images_must_be_what_their_data_url_says():
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert decode_image(url, 1024) == ("image/png", PNG)
    for bad in ("data:image/jpeg;base64," + base64.b64encode(PNG).decode(), "data:text/html;base64,AAAA",
                "https://x/y.png"):
        with pytest.raises(InvalidInputError):
            decode_image(bad, 1024)
    with pytest.raises(ImageTooLargeError):
        decode_image(url, 10)


def test_stored_images_get_fresh_urls_only_under_the_callers_prefix():
    history = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "old"}, "s3_key": "images/me/s1/a.png"},
        {"type": "image_url", "image_url": {"url": "old"}, "s3_key": "images/other/s1/b.png"},
        {"type": "image_url", "image_url": {"url": "data:keep"}},
        {"type": "image_url", "image_url": {"url": "old"}, "s3_key": "images/me/s1/../../other/c.png"}]}]
    parts = with_fresh_urls(history, "images/me/s1/", lambda key: f"signed:{key}")[0]["content"]
    assert [p["image_url"]["url"] for p in parts] == ["signed:images/me/s1/a.png", "", "data:keep", ""]
    stored = without_urls(history, "images/me/s1/")[0]["content"]
    assert stored[0]["image_url"]["url"] == "" and stored[2]["image_url"]["url"] == "data:keep"


def test_a_document_is_fitted_to_half_the_window_with_a_notice():
    settings = ChatFileSettings(default_context_window=1000, context_share=0.5, chars_per_token=4)
    pages = [Page("a" * 1500, 1), Page("b" * 1500, 2)]
    out = fitted("r.pdf", "application/pdf", pages, 1000, "m1", settings)
    assert out["truncated"] and out["chars"] == 2000 and out["pages"] == 2 and out["text"].startswith("[page 1]\na")
    assert "2,000 of 3," in out["notice"] and "m1's context window of 1,000 tokens" in out["notice"]
    short = fitted("n.txt", "text/plain", [Page("hello")], 1000, None, settings)
    assert (short["text"], short["truncated"], short["notice"], short["pages"]) == ("hello", False, None, None)


def test_the_configuration_fills_in_defaults_for_what_a_version_leaves_out():
    item = wire({"configScope": "global", "versionId": "0000000003", "configuration": {
        "enabledComponents": {"mcpConnections": False}}})
    assert item["versionId"] == 3 and item["configuration"]["enabledComponents"] == {**DEFAULT_COMPONENTS,
                                                                                      "mcpConnections": False}
    configuration = item["configuration"]
    assert configuration["maxProjectsPerUser"] == 50 and configuration["systemBanner"]["isEnabled"] is False
