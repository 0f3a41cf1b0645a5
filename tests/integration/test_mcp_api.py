"""MCP connections (`/mcp-server`) and chat with tools (`/mcp/chat/completions`) on the real api process, the serve
gateway, the stand-in's tool-calling model and a real MCP server built with the SDK (tests/fixtures/mcp_server.py):
who may see, change and use a connection; headers kept secret; addresses refused; tools called, failing, slow,
cut, looping, awaiting approval; a broken server reported in words, never a hang."""

from __future__ import annotations

import socket
import threading
import time

import orjson
import pytest

def create(api, who="alice", **fields) -> dict:
    response = api("POST", "/mcp-server", who, json={"name": "tools", "url": fields.pop("url"), **fields})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def alices(api, mcp_server) -> dict:
    return create(api, url=f"{mcp_server.base}/secure/mcp", name="alice's tools",
                  customHeaders={"x-api-key": mcp_server.key})


# Connections: shape, secrets ---------------------------------------------------------------------------------------
def test_a_connection_is_saved_with_lisas_shape_and_its_headers_are_never_returned(api, alices, mcp_server):
    got = api("GET", f"/mcp-server/{alices['id']}")
    assert got.status_code == 200
    body = got.json()
    assert (body["name"], body["status"], body["enabled"], body["isOwner"], body["canUse"]) == (
        "alice's tools", "active", True, True, True)
    assert body["customHeaderNames"] == ["x-api-key"] and "customHeaders" not in body
    for response in (got, api("GET", "/mcp-server"), api("GET", "/mcp-server", "admin")):
        assert mcp_server.key not in response.text


def test_the_list_answers_lisas_items(api, alices):
    listed = api("GET", "/mcp-server").json()
    assert alices["id"] in [i["id"] for i in listed["Items"]]


def test_an_update_keeps_the_headers_unless_it_sends_new_ones(api, mcp_server):
    server = create(api, url=f"{mcp_server.base}/secure/mcp", customHeaders={"x-api-key": mcp_server.key})
    renamed = api("PUT", f"/mcp-server/{server['id']}", json={"name": "renamed"}).json()
    assert renamed["name"] == "renamed" and renamed["customHeaderNames"] == ["x-api-key"]
    assert api("POST", f"/mcp-server/{server['id']}/test").json()["ok"] is True
    cleared = api("PUT", f"/mcp-server/{server['id']}", json={"customHeaders": {}}).json()
    assert cleared["customHeaderNames"] == []
    assert "401" in api("POST", f"/mcp-server/{server['id']}/test").json()["error"]


# Who may do what ---------------------------------------------------------------------------------------------------
ROUTES = {
    "get": ("GET", "/mcp-server/{id}", None),
    "update": ("PUT", "/mcp-server/{id}", {"description": "changed"}),
    "test": ("POST", "/mcp-server/{id}/test", None),
    "delete": ("DELETE", "/mcp-server/{id}", None),
}
# Alice's private connection: she and admins manage it; bob does not even learn it exists; no credential is a 401.
EXPECTED = {
    "alice": {"get": 200, "update": 200, "test": 200, "delete": 200},
    "admin": {"get": 200, "update": 200, "test": 200, "delete": 200},
    "bob": {"get": 404, "update": 404, "test": 404, "delete": 404},
    None: {"get": 401, "update": 401, "test": 401, "delete": 401},
}


@pytest.mark.parametrize("who", ["alice", "admin", "bob", None])
@pytest.mark.parametrize("route", list(ROUTES))
def test_authorization_matrix_of_a_private_connection(api, mcp_server, who, route):
    server = create(api, url=mcp_server.url)
    method, path, body = ROUTES[route]
    response = api(method, path.format(id=server["id"]), who, json=body)
    assert response.status_code == EXPECTED[who][route], response.text
    if response.status_code >= 400:
        assert response.json()["error"]


@pytest.mark.parametrize("who, sees", [("alice", True), ("admin", True), ("bob", False), ("carol", False)])
def test_the_list_shows_a_private_connection_to_its_owner_and_admins_only(api, mcp_server, who, sees):
    server = create(api, url=mcp_server.url)
    listed = [i["id"] for i in api("GET", "/mcp-server", who).json()["Items"]]
    assert (server["id"] in listed) == sees


def test_no_credential_cannot_list_or_create(api, mcp_server):
    assert api("GET", "/mcp-server", None).status_code == 401
    assert api("POST", "/mcp-server", None, json={"name": "x", "url": mcp_server.url}).status_code == 401


def test_a_group_connection_is_seen_and_used_by_members_only_and_managed_by_its_owner(api, mcp_server):
    server = create(api, "carol", url=mcp_server.url, allowedGroups=["team"])
    assert api("GET", f"/mcp-server/{server['id']}", "bob").status_code == 404
    admin_owned = create(api, "admin", url=mcp_server.url, allowedGroups=["team"])
    seen = api("GET", f"/mcp-server/{admin_owned['id']}", "carol").json()
    assert (seen["canUse"], seen["isOwner"]) == (True, False)
    assert api("PUT", f"/mcp-server/{admin_owned['id']}", "carol", json={"name": "mine"}).status_code == 403


def test_users_share_only_with_their_own_groups_and_only_admins_publish(api, mcp_server):
    outside = api("POST", "/mcp-server", "alice", json={"name": "x", "url": mcp_server.url, "allowedGroups": ["team"]})
    assert outside.status_code == 403 and "team" in outside.json()["message"]
    public = api("POST", "/mcp-server", "alice", json={"name": "x", "url": mcp_server.url, "owner": "lisa:public"})
    assert public.status_code == 403
    published = create(api, "admin", url=mcp_server.url, owner="lisa:public")
    seen = api("GET", f"/mcp-server/{published['id']}", "bob").json()
    assert (seen["canUse"], seen["groups"]) == (True, ["lisa:public"])


def test_admins_see_a_private_connection_but_cannot_chat_with_it(api, alices, tool_models):
    assert api("GET", f"/mcp-server/{alices['id']}", "admin").json()["canUse"] is False
    response = api("POST", "/mcp/chat/completions", "admin", json=chat_body(tool_models, alices["id"], "hi"))
    assert response.status_code == 403


def test_a_disabled_connection_is_hidden_from_members_and_refused_in_chat(api, mcp_server, tool_models):
    server = create(api, "admin", url=mcp_server.url, owner="lisa:public", enabled=False)
    assert api("GET", f"/mcp-server/{server['id']}", "bob").status_code == 404
    response = api("POST", "/mcp/chat/completions", "admin",
                   json=chat_body(tool_models, server["id"], "hi"))
    assert response.status_code == 409 and "disabled" in response.json()["message"]


# Addresses ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, fragment", [
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://169.254.170.2/v2/credentials", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://[::ffff:169.254.169.254]/mcp", "metadata"),
    ("http://10.0.0.5/mcp", "private"),
    ("ftp://example.com/mcp", "http"),
    ("http://user:pass@example.com/mcp", "credentials"),
])
def test_urls_that_lead_inside_the_platform_are_refused(api, url, fragment):
    response = api("POST", "/mcp-server", "admin", json={"name": "x", "url": url})
    assert response.status_code == 400 and fragment in response.json()["message"]


def test_a_draft_can_be_tested_before_it_is_saved(api, mcp_server):
    result = api("POST", "/mcp-server/test", json={"name": "draft", "url": mcp_server.url}).json()
    assert result["ok"] is True and [t["name"] for t in result["tools"]] == ["slow_echo", "fail"]
    assert result["tools"][0]["inputSchema"]["required"] == ["text"]


def test_the_older_sse_transport_works_too(api, mcp_server):
    server = create(api, url=f"{mcp_server.base}/sse", transport="sse")
    assert [t["name"] for t in api("POST", f"/mcp-server/{server['id']}/test").json()["tools"]] == ["slow_echo", "fail"]


@pytest.fixture(scope="module")
def silent_server():
    """Accepts connections and never answers a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held = []

    def accept():
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    sock.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize("case", ["unreachable", "wrong key", "wrong path", "silent"])
def test_a_broken_server_gives_a_readable_error_quickly(api, mcp_server, silent_server, case):
    from tests.fixtures.processes import free_port

    url, fragment = {
        "unreachable": (f"http://127.0.0.1:{free_port()}/mcp", "unreachable"),
        "wrong key": (f"{mcp_server.base}/secure/mcp", "HTTP 401"),
        "wrong path": (f"{mcp_server.base}/nothing-here", "HTTP 404"),
        "silent": (silent_server, "did not answer within 3 s"),
    }[case]
    started = time.monotonic()
    result = api("POST", "/mcp-server/test", json={"name": "broken", "url": url,
                                                   "customHeaders": {"x-api-key": "wrong"}}).json()
    assert result["ok"] is False and fragment in result["error"] and "broken" in result["error"]
    assert time.monotonic() - started < 15


# Chat with tools ---------------------------------------------------------------------------------------------------
def chat_body(models, server_ids, text, **extra) -> dict:
    ids = [server_ids] if isinstance(server_ids, str) else server_ids
    return {"model": models["chat"], "messages": [{"role": "user", "content": text}], "mcpServers": ids, **extra}


def stream(api, body, who="alice", on_event=None) -> tuple[str, list[dict], list[dict]]:
    """(text, tool events, raw chunks) of a streamed tool chat; `on_event(event)` sees tool events as they come."""
    response = api("POST", "/mcp/chat/completions", who, json={**body, "stream": True}, stream=True)
    assert response.status_code == 200, response.text
    text, events, chunks = "", [], []
    for line in response.iter_lines():
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        chunk = orjson.loads(line[6:])
        chunks.append(chunk)
        if "tool_event" in chunk:
            events.append(chunk["tool_event"])
            if on_event:
                on_event(chunk["tool_event"])
        for choice in chunk.get("choices", []):
            text += choice["delta"].get("content") or ""
    return text, events, chunks


def test_a_tool_call_runs_and_the_model_answers_with_its_result(api, alices, tool_models):
    response = api("POST", "/mcp/chat/completions",
                   json=chat_body(tool_models, alices["id"], 'use slow_echo {"text": "hello tools"}'))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["choices"][0]["message"]["content"].endswith("Tool results: echo: hello tools")
    result, = [e for e in answer["tool_events"] if e["type"] == "tool_result"]
    assert (result["name"], result["server"], result["status"], result["arguments"]) == (
        "slow_echo", "alice's tools", "ok", {"text": "hello tools"})
    assert isinstance(result["durationMs"], int) and answer["usage"]["total_tokens"] > 0


def test_streaming_goes_on_through_the_tool_rounds(api, alices, tool_models):
    text, events, chunks = stream(api, chat_body(tool_models, alices["id"], 'use slow_echo {"text": "x"}',
                                                 stream_options={"include_usage": True}))
    assert text.startswith("Let me check.") and text.endswith("Tool results: echo: x")
    assert [e["type"] for e in events] == ["tool_call", "tool_result"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
    assert finishes[-1] == "stop" and "tool_calls" not in finishes


def test_a_failing_tool_is_reported_and_the_model_still_answers(api, alices, tool_models):
    text, events, _ = stream(api, chat_body(tool_models, alices["id"], 'use fail {"reason": "broken on purpose"}'))
    result, = [e for e in events if e["type"] == "tool_result"]
    assert result["status"] == "error" and "failed on purpose: broken on purpose" in result["result"]
    assert "Tool results:" in text


def test_a_slow_tool_times_out_and_the_chat_goes_on(api, alices, tool_models):
    started = time.monotonic()
    text, events, _ = stream(api, chat_body(tool_models, alices["id"], 'use slow_echo {"text": "z", "seconds": 30}'))
    result, = [e for e in events if e["type"] == "tool_result"]
    assert result["status"] == "timeout" and "did not answer within 2 s" in result["result"]
    assert "Tool results:" in text and time.monotonic() - started < 20


def test_a_long_result_is_cut_and_says_so(api, alices, tool_models):
    _, events, _ = stream(api, chat_body(tool_models, alices["id"], 'use slow_echo {"text": "' + "w" * 500 + '"}'))
    result, = [e for e in events if e["type"] == "tool_result"]
    assert result["truncated"] is True and "[cut: " in result["result"] and len(result["result"]) < 400


def test_the_loop_stops_after_the_round_limit(api, alices, tool_models):
    _, events, chunks = stream(api, {**chat_body(tool_models, alices["id"], 'use slow_echo {"text": "again"}'),
                                     "model": tool_models["loop"]})
    assert [e["type"] for e in events].count("tool_result") == 3  # LISA_MCP_MAX_ROUNDS in the test api
    assert events[-1]["type"] == "limit" and chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_an_unreachable_server_is_reported_in_the_chat_which_goes_on(api, alices, tool_models):
    from tests.fixtures.processes import free_port

    down = create(api, url=f"http://127.0.0.1:{free_port()}/mcp", name="down server")
    text, events, _ = stream(api, chat_body(tool_models, [down["id"], alices["id"]], 'use slow_echo {"text": "y"}'))
    error = events[0]
    assert (error["type"], error["server"]) == ("server_error", "down server") and "unreachable" in error["message"]
    assert text.endswith("Tool results: echo: y")


def test_only_allow_listed_fields_reach_the_model(api, alices, tool_models, stand_in_stats):
    refused = api("POST", "/mcp/chat/completions", json=chat_body(tool_models, alices["id"], "x",
                                                                   api_base="http://evil.example"))
    assert refused.status_code == 400 and "api_base" in refused.json()["message"]
    own_tools = api("POST", "/mcp/chat/completions", json=chat_body(tool_models, alices["id"], "x", tools=[]))
    assert own_tools.status_code == 400 and "tools" in own_tools.json()["message"]
    stream(api, chat_body(tool_models, alices["id"], 'use slow_echo {"text": "keys"}', temperature=0.2))
    sent = stand_in_stats()["last_request"]["body"]
    assert set(sent) <= {"model", "messages", "stream", "stream_options", "tools", "temperature"}
    assert sent["temperature"] == 0.2


def test_an_unknown_model_is_refused_before_the_stream_starts(api, alices, tool_models):
    response = api("POST", "/mcp/chat/completions",
                   json={**chat_body(tool_models, alices["id"], "x"), "model": "no-such-model", "stream": True})
    assert response.status_code == 404 and response.json()["error"] == "ModelError"


def test_unknown_connections_are_not_found(api, tool_models):
    response = api("POST", "/mcp/chat/completions", json=chat_body(tool_models, "0000-missing", "x"))
    assert response.status_code == 404


# Approval ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def asking(api, mcp_server) -> dict:
    return create(api, url=mcp_server.url, name="careful tools", approval="ask")


def decide_when_asked(api, decisions: list[tuple[str, bool]], outcomes: list):
    def on_event(event):
        if event["type"] == "approval_required":
            for who, approve in decisions:
                outcomes.append(api("POST", f"/mcp/approvals/{event['approvalId']}", who, json={"approve": approve}))

    return on_event


def test_an_approved_call_runs_and_only_its_user_may_approve(api, asking, tool_models):
    outcomes: list = []
    text, events, _ = stream(api, chat_body(tool_models, asking["id"], 'use slow_echo {"text": "ok?"}'),
                             on_event=decide_when_asked(api, [("bob", True), ("alice", True), ("alice", False)],
                                                        outcomes))
    assert [r.status_code for r in outcomes] == [404, 200, 409]
    assert [e["type"] for e in events] == ["tool_call", "approval_required", "approval", "tool_result"]
    assert events[-1]["status"] == "ok" and text.endswith("echo: ok?")


def test_a_rejected_call_is_not_run(api, asking, tool_models):
    outcomes: list = []
    text, events, _ = stream(api, chat_body(tool_models, asking["id"], 'use slow_echo {"text": "no"}'),
                             on_event=decide_when_asked(api, [("alice", False)], outcomes))
    assert events[-1]["status"] == "rejected" and "declined" in text


def test_approval_needs_a_stream(api, asking, tool_models):
    response = api("POST", "/mcp/chat/completions", json=chat_body(tool_models, asking["id"], "x"))
    assert response.status_code == 400 and "stream" in response.json()["message"]
