"""What the chat keeps server-side, on the real api process: prompt templates (revisions, sharing, search), projects,
user preferences, the admin configuration, feedback, images attached to a session, document text for the context;
each with who may do what (role x route) and the errors a client can cause."""

from __future__ import annotations

import base64
import io
import uuid

import pytest
import requests

from core import aws
from tests.unit.test_rag_parsing import docx_bytes, pdf_bytes

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
                       "AAAABJRU5ErkJggg==")


def new_session(api, who="alice", messages=None) -> str:
    sid = str(uuid.uuid4())
    messages = messages or [{"id": "q1", "role": "user", "content": "What is 2+2?"},
                            {"id": "a1", "role": "assistant", "content": "4", "metadata": {"model": "m1"}}]
    assert api("PUT", f"/session/{sid}", who, json={"messages": messages}).status_code == 200
    return sid


# Prompt templates --------------------------------------------------------------------------------------------------
def template(api, who="alice", **fields) -> dict:
    body = {"title": "Pirate", "body": "Talk like a pirate about {{topic}} to {{ audience }}.", "type": "persona",
            **fields}
    response = api("POST", "/prompt-templates", who, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_template_has_lisas_shape_and_its_variables(api):
    created = template(api)
    assert (created["revision"], created["latest"], created["type"], created["groups"], created["isOwner"]) == (
        1, True, "persona", [], True)
    assert created["variables"] == ["topic", "audience"] and created["owner"] == "alice"


def test_a_put_makes_a_new_revision_and_a_stale_one_is_a_409(api):
    created = template(api)
    revised = api("PUT", f"/prompt-templates/{created['id']}", json={"body": "Arr.", "revision": 1}).json()
    assert (revised["revision"], revised["body"], revised["title"]) == (2, "Arr.", "Pirate")
    assert api("GET", f"/prompt-templates/{created['id']}").json()["revision"] == 2
    stale = api("PUT", f"/prompt-templates/{created['id']}", json={"body": "late", "revision": 1})
    assert stale.status_code == 409


def test_the_list_is_mine_or_shared_and_searchable(api):
    mine = template(api, title=f"Reviewer {uuid.uuid4().hex[:6]}", body="Review code carefully.", type="directive")
    public = template(api, "bob", title="Shared haiku", body="Answer in a haiku.", groups=["lisa:public"])
    own = api("GET", "/prompt-templates", params={"q": "carefully"}).json()["Items"]
    assert [t["id"] for t in own] == [mine["id"]]
    shared = [t["id"] for t in api("GET", "/prompt-templates", params={"public": "true"}).json()["Items"]]
    assert public["id"] in shared and mine["id"] not in shared
    directives = api("GET", "/prompt-templates", params={"type": "directive"}).json()["Items"]
    assert all(t["type"] == "directive" for t in directives) and mine["id"] in [t["id"] for t in directives]


def test_a_group_template_is_shared_with_members_only(api):
    team = template(api, "carol", groups=["group:team"])
    assert api("GET", f"/prompt-templates/{team['id']}", "bob").status_code == 404
    outside = api("POST", "/prompt-templates", "alice", json={"title": "x", "body": "y", "groups": ["group:team"]})
    assert outside.status_code == 403


TEMPLATE_ROUTES = {"get": ("GET", None), "put": ("PUT", {"title": "changed"}), "delete": ("DELETE", None)}
TEMPLATE_EXPECTED = {"alice": (200, 200, 200), "admin": (200, 200, 200), "bob": (404, 404, 404), None: (401, 401, 401)}


@pytest.mark.parametrize("who", ["alice", "admin", "bob", None])
@pytest.mark.parametrize("route", list(TEMPLATE_ROUTES))
def test_authorization_matrix_of_a_private_template(api, who, route):
    created = template(api)
    method, body = TEMPLATE_ROUTES[route]
    response = api(method, f"/prompt-templates/{created['id']}", who, json=body)
    assert response.status_code == TEMPLATE_EXPECTED[who][list(TEMPLATE_ROUTES).index(route)]


def test_a_shared_template_is_read_only_for_others(api):
    public = template(api, "bob", groups=["lisa:public"])
    assert api("PUT", f"/prompt-templates/{public['id']}", json={"title": "mine"}).status_code == 403
    assert api("DELETE", f"/prompt-templates/{public['id']}").status_code == 403


def test_a_deleted_template_is_gone(api):
    created = template(api)
    api("PUT", f"/prompt-templates/{created['id']}", json={"title": "v2"})
    assert api("DELETE", f"/prompt-templates/{created['id']}").json() == {"status": "ok"}
    assert api("GET", f"/prompt-templates/{created['id']}").status_code == 404


@pytest.mark.parametrize("body", [{"title": "", "body": "x"}, {"title": "x", "body": "y", "type": "other"},
                                  {"title": "x", "body": "y", "groups": ["team"]}])
def test_bad_templates_are_422(api, body):
    assert api("POST", "/prompt-templates", json=body).status_code == 422


# Projects ----------------------------------------------------------------------------------------------------------
def project(api, who="alice", name="Research") -> dict:
    response = api("POST", "/project", who, json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()


def test_sessions_move_into_a_project_and_back(api):
    folder, sid = project(api), new_session(api)
    assert api("PUT", f"/project/{folder['projectId']}/session/{sid}", json={}).status_code == 200
    assert api("GET", f"/session/{sid}").json()["projectId"] == folder["projectId"]
    assert next(s for s in api("GET", "/session").json() if s["sessionId"] == sid)["projectId"] == folder["projectId"]
    api("PUT", f"/project/{folder['projectId']}/session/{sid}", json={"unassign": True})
    assert api("GET", f"/session/{sid}").json()["projectId"] is None


def test_a_session_put_keeps_its_project_and_pin(api):
    folder, sid = project(api), new_session(api)
    api("PUT", f"/project/{folder['projectId']}/session/{sid}", json={})
    api("PUT", f"/session/{sid}/pin", json={"pinned": True})
    api("PUT", f"/session/{sid}", json={"messages": [{"role": "user", "content": "edited"}]})
    got = api("GET", f"/session/{sid}").json()
    assert (got["projectId"], got["pinned"]) == (folder["projectId"], True)


def test_deleting_a_project_keeps_or_deletes_its_sessions(api):
    keep, drop = project(api, name="keep"), project(api, name="drop")
    kept, dropped = new_session(api), new_session(api)
    api("PUT", f"/project/{keep['projectId']}/session/{kept}", json={})
    api("PUT", f"/project/{drop['projectId']}/session/{dropped}", json={})
    assert api("DELETE", f"/project/{keep['projectId']}").json() == {"deleted": True}
    assert api("GET", f"/session/{kept}").json()["projectId"] is None
    api("DELETE", f"/project/{drop['projectId']}", params={"deleteSessions": "true"})
    assert api("GET", f"/session/{dropped}").status_code == 404
    listed = [p["projectId"] for p in api("GET", "/project").json()]
    assert keep["projectId"] not in listed and drop["projectId"] not in listed


def test_rename_and_the_projects_of_others(api):
    folder = project(api)
    assert api("PUT", f"/project/{folder['projectId']}", json={"name": "Renamed"}).json()["message"]
    assert [p["name"] for p in api("GET", "/project").json() if p["projectId"] == folder["projectId"]] == ["Renamed"]
    assert api("PUT", f"/project/{folder['projectId']}", "bob", json={"name": "x"}).status_code == 404
    assert api("DELETE", f"/project/{folder['projectId']}", "bob").status_code == 404
    bobs = new_session(api, "bob")
    assert api("PUT", f"/project/{folder['projectId']}/session/{bobs}", "bob", json={}).status_code == 404
    assert api("PUT", f"/project/{folder['projectId']}/session/{bobs}", "alice", json={}).status_code == 404
    assert api("GET", "/project", None).status_code == 401


# Preferences -------------------------------------------------------------------------------------------------------
def test_preferences_follow_the_user_and_only_them(api):
    prefs = {"theme": "dark", "defaultModel": "m1", "lastRepository": "docs",
             "defaultParameters": {"temperature": 0.3, "seed": 7, "stop": ["END"], "reasoningEffort": "low"},
             "mcp": {"enabledServers": ["x"]}}
    saved = api("PUT", "/user-preferences", json={"user": "bob", "preferences": prefs})
    assert saved.status_code == 200 and saved.json()["user"] == "alice"
    assert api("GET", "/user-preferences").json()["preferences"] == prefs
    assert api("GET", "/user-preferences", "bob").json()["preferences"].get("defaultModel") != "m1"


@pytest.mark.parametrize("prefs", [{"theme": "neon"}, {"defaultParameters": {"temperature": 3}},
                                   {"defaultParameters": {"stop": ["a", "b", "c", "d", "e"]}}])
def test_bad_preferences_are_422(api, prefs):
    assert api("PUT", "/user-preferences", json={"preferences": prefs}).status_code == 422


def test_preferences_past_their_limit_are_413(api):
    huge = {"preferences": {"notes": "x" * (70 * 1024)}}
    assert api("PUT", "/user-preferences", json=huge).status_code == 413


# Configuration -----------------------------------------------------------------------------------------------------
def test_admins_change_the_configuration_and_everyone_reads_it(api):
    current = api("GET", "/configuration", params={"configScope": "global"}).json()[0]
    configuration = {**current["configuration"], "systemBanner": {"isEnabled": True, "text": "Maintenance at 6",
                                                                  "textColor": "#ffffff", "backgroundColor": "#aa0000"},
                     "enabledComponents": {**current["configuration"]["enabledComponents"], "mcpConnections": False}}
    body = {"configScope": "global", "versionId": current["versionId"] + 1, "changeReason": "banner",
            "configuration": configuration}
    assert api("PUT", "/configuration/global", "alice", json=body).status_code == 403
    assert api("PUT", "/configuration/global", None, json=body).status_code == 401
    assert api("PUT", "/configuration/global", "admin", json=body).json() == {"status": "ok"}
    assert api("PUT", "/configuration/global", "admin", json=body).status_code == 409  # that version exists now
    newest = api("GET", "/configuration", "bob").json()[0]
    assert newest["versionId"] == current["versionId"] + 1 and newest["changedBy"] == "root"
    assert newest["configuration"]["systemBanner"]["text"] == "Maintenance at 6"
    assert newest["configuration"]["enabledComponents"]["mcpConnections"] is False
    restore = {**body, "versionId": None, "configuration": current["configuration"]}
    assert api("PUT", "/configuration/global", "admin", json=restore).status_code == 200


def test_a_bad_banner_colour_is_422(api):
    body = {"configuration": {"systemBanner": {"isEnabled": True, "text": "x", "textColor": "red"}}}
    assert api("PUT", "/configuration/global", "admin", json=body).status_code == 422


# Feedback ----------------------------------------------------------------------------------------------------------
def test_feedback_is_kept_with_the_session_and_listed_for_admins(api):
    sid = new_session(api)
    saved = api("PUT", f"/session/{sid}/feedback", json={"messageId": "a1", "rating": "down", "comment": "wrong sum"})
    assert saved.status_code == 200 and (saved.json()["excerpt"], saved.json()["model"]) == ("4", "m1")
    assert api("GET", f"/session/{sid}").json()["feedback"] == {"a1": {"rating": "down", "comment": "wrong sum"}}
    listed = api("GET", "/feedback", "admin").json()["items"]
    assert any(f["sessionId"] == sid and f["comment"] == "wrong sum" and f["username"] == "alice" for f in listed)
    assert api("GET", "/feedback", "alice").status_code == 403
    assert api("GET", "/feedback", None).status_code == 401
    api("DELETE", f"/session/{sid}")
    assert not any(f["sessionId"] == sid for f in api("GET", "/feedback", "admin").json()["items"])


def test_feedback_needs_a_message_of_my_session(api):
    sid = new_session(api)
    assert api("PUT", f"/session/{sid}/feedback", json={"messageId": "nope", "rating": "up"}).status_code == 404
    assert api("PUT", f"/session/{sid}/feedback", "bob", json={"messageId": "a1", "rating": "up"}).status_code == 404
    assert api("PUT", f"/session/{sid}/feedback", json={"messageId": "a1", "rating": "meh"}).status_code == 422


def test_feedback_can_be_taken_back(api):
    sid = new_session(api)
    api("PUT", f"/session/{sid}/feedback", json={"messageId": "a1", "rating": "up"})
    assert api("DELETE", f"/session/{sid}/feedback/a1").json() == {"deleted": True}
    assert api("GET", f"/session/{sid}").json()["feedback"] == {}


# Images ------------------------------------------------------------------------------------------------------------
def data_url(data: bytes = PNG, kind: str = "image/png") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def test_an_attached_image_is_kept_in_s3_and_read_back_with_a_fresh_url(api, platform):
    outputs, _ = platform
    sid = str(uuid.uuid4())
    attached = api("PUT", f"/session/{sid}/attachImage", json={"message": {"type": "image_url",
                                                                             "image_url": {"url": data_url()}}})
    assert attached.status_code == 200
    part = attached.json()["body"]
    assert part["s3_key"].startswith("images/") and requests.get(part["image_url"]["url"], timeout=10).content == PNG
    messages = [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, part]}]
    api("PUT", f"/session/{sid}", json={"messages": messages})
    stored = api("GET", f"/session/{sid}").json()["history"][0]["content"][1]
    assert stored["s3_key"] == part["s3_key"] and requests.get(stored["image_url"]["url"], timeout=10).content == PNG
    name = part["s3_key"].rsplit("/", 1)[1]
    through_api = api("GET", f"/session/{sid}/images/{name}")
    assert through_api.content == PNG and through_api.headers["content-type"] == "image/png"
    assert api("GET", f"/session/{sid}/images/{name}", "bob").status_code == 404
    api("DELETE", f"/session/{sid}")
    left = aws.client("s3").list_objects_v2(Bucket=outputs.buckets.sessions, Prefix=part["s3_key"])
    assert left.get("KeyCount", 0) == 0


def test_a_history_naming_another_users_image_gets_no_url_for_it(api):
    bobs = str(uuid.uuid4())
    part = api("PUT", f"/session/{bobs}/attachImage", "bob",
               json={"message": {"type": "image_url", "image_url": {"url": data_url()}}}).json()["body"]
    sid = str(uuid.uuid4())
    api("PUT", f"/session/{sid}", json={"messages": [{"role": "user", "content": [part]}]})
    assert api("GET", f"/session/{sid}").json()["history"][0]["content"][0]["image_url"]["url"] == ""


@pytest.mark.parametrize("url, status", [
    ("https://example.com/cat.png", 400),
    (data_url(b"not a png at all"), 400),
    (data_url(PNG, "image/svg+xml"), 400),
    ("data:image/png;base64,%%%", 400),
    (data_url(b"\x89PNG\r\n\x1a\n" + b"0" * (6 * 1024 * 1024)), 413),
])
def test_bad_images_are_refused(api, url, status):
    response = api("PUT", f"/session/{uuid.uuid4()}/attachImage",
                   json={"message": {"type": "image_url", "image_url": {"url": url}}})
    assert response.status_code == status, response.text


# Documents in the context ------------------------------------------------------------------------------------------
def attach(api, name: str, data: bytes, **form) -> requests.Response:
    return api("POST", "/chat/attachments", files={"file": (name, io.BytesIO(data))}, data=form)


def test_a_pdf_and_a_docx_become_text_for_the_context(api):
    pdf = attach(api, "report.pdf", pdf_bytes(["Quarterly revenue grew.", "Costs fell."])).json()
    assert (pdf["pages"], pdf["truncated"], pdf["notice"]) == (2, False, None)
    assert "[page 1]\nQuarterly revenue grew." in pdf["text"] and "[page 2]" in pdf["text"]
    docx = attach(api, "memo.docx", docx_bytes(["Meet at noon."])).json()
    assert docx["text"].startswith("Meet at noon.") and docx["contentType"].endswith("document")


def test_a_long_document_is_cut_to_the_context_window_with_a_notice(api):
    text = ("All work and no play. " * 4000).encode()  # 88 000 characters
    cut = attach(api, "long.txt", text).json()
    assert cut["truncated"] is True and cut["chars"] == len(cut["text"]) == 16384  # 8192 tokens x 0.5 x 4
    assert cut["totalChars"] == len(text) and "8,192 tokens" in cut["notice"] and "long.txt" in cut["notice"]


@pytest.mark.parametrize("name, data, status", [("image.png", PNG, 415), ("empty.txt", b"", 400),
                                                ("fake.pdf", b"hello", 400)])
def test_files_that_cannot_be_read_are_refused(api, name, data, status):
    assert attach(api, name, data).status_code == status


# Every chat route needs a credential -------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("GET", "/prompt-templates"), ("POST", "/prompt-templates"), ("GET", "/user-preferences"),
    ("PUT", "/user-preferences"), ("GET", "/configuration"), ("POST", "/project"), ("POST", "/chat/attachments"),
    ("PUT", "/session/x/attachImage"), ("PUT", "/session/x/feedback"), ("PUT", "/session/x/pin"),
    ("POST", "/mcp/chat/completions"), ("POST", f"/mcp/approvals/{uuid.uuid4()}"),
])
def test_no_credential_is_a_401(api, method, path):
    assert api(method, path, None, json={}).status_code == 401
