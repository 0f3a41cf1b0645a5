"""The /session routes of the api app, as a real process, with real credentials: ownership, replacement, large
sessions offloaded to S3 whole, and the errors a client can cause."""

from __future__ import annotations

import uuid

import pytest
import requests

from core import aws
from core.dynamo import Table
from tests.fixtures.rag import SESSIONS_MAX_BYTES


def new_id() -> str:
    return str(uuid.uuid4())


def session_body(text: str = "What is RAG?", **extra):
    return {"messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": text, "metadata": {"ragDocs": []}},
                         {"role": "assistant", "content": "Retrieval-augmented generation.", "metadata": {"model": "m"}}],
            "name": "About RAG", "model": "rag-chat", "configuration": {"modelArgs": {"temperature": 0.7}}, **extra}


@pytest.fixture
def alice(api_server, as_user):
    return lambda method, path, **kw: as_user("alice").request(method, f"{api_server}{path}", timeout=30, **kw)


@pytest.fixture
def bob(api_server, as_user):
    return lambda method, path, **kw: as_user("bob").request(method, f"{api_server}{path}", timeout=30, **kw)


def item(platform, user_id: str, session_id: str):
    outputs, _ = platform
    return Table(outputs.tables.sessions).get({"userId": user_id, "sessionId": session_id}, consistent=True)


def test_a_saved_session_reads_back_as_sent(alice):
    sid = new_id()
    saved = alice("PUT", f"/session/{sid}", json=session_body())
    assert saved.status_code == 200 and saved.json()["message"] == "Session updated successfully"
    got = alice("GET", f"/session/{sid}").json()
    assert got["history"] == session_body()["messages"]
    assert (got["name"], got["model"], got["configuration"]) == ("About RAG", "rag-chat", {"modelArgs": {"temperature": 0.7}})


def test_the_list_has_summaries_newest_first(alice):
    first, second = new_id(), new_id()
    alice("PUT", f"/session/{first}", json=session_body("first question"))
    alice("PUT", f"/session/{second}", json=session_body("second question"))
    listed = alice("GET", "/session").json()
    ids = [s["sessionId"] for s in listed]
    assert ids.index(second) < ids.index(first)
    summary = next(s for s in listed if s["sessionId"] == second)
    assert (summary["firstHumanMessage"], summary["messageCount"], summary["model"]) == ("second question", 3, "rag-chat")
    assert "history" not in summary


def test_replacing_keeps_the_creation_time_and_moves_last_updated(alice):
    sid = new_id()
    alice("PUT", f"/session/{sid}", json=session_body())
    before = alice("GET", f"/session/{sid}").json()
    alice("PUT", f"/session/{sid}", json={"messages": [{"role": "user", "content": "new start"}]})
    after = alice("GET", f"/session/{sid}").json()
    assert after["createTime"] == before["createTime"] and after["lastUpdated"] > before["lastUpdated"]
    assert after["history"] == [{"role": "user", "content": "new start"}] and after["name"] == "About RAG"


def test_lisa_message_types_are_accepted(alice):
    sid = new_id()
    body = {"messages": [{"type": "human", "content": "hi"}, {"type": "ai", "content": "hello"}]}
    assert alice("PUT", f"/session/{sid}", json=body).status_code == 200
    assert alice("GET", "/session").json()[0]["firstHumanMessage"] == "hi"


def test_rename_changes_only_the_name(alice):
    sid = new_id()
    alice("PUT", f"/session/{sid}", json=session_body())
    assert alice("PUT", f"/session/{sid}/name", json={"name": "Renamed"}).status_code == 200
    got = alice("GET", f"/session/{sid}").json()
    assert got["name"] == "Renamed" and got["history"] == session_body()["messages"]


def test_deleting_a_session_makes_it_not_found(alice):
    sid = new_id()
    alice("PUT", f"/session/{sid}", json=session_body())
    assert alice("DELETE", f"/session/{sid}").json() == {"deleted": True}
    assert alice("GET", f"/session/{sid}").status_code == 404


@pytest.mark.parametrize("method, suffix, body", [
    ("GET", "", None), ("DELETE", "", None), ("PUT", "/name", {"name": "x"})])
def test_unknown_sessions_are_not_found(alice, method, suffix, body):
    response = alice(method, f"/session/{new_id()}{suffix}", json=body)
    assert response.status_code == 404 and response.json()["error"] == "NotFoundError"


# Isolation ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def alices_session(alice):
    sid = new_id()
    alice("PUT", f"/session/{sid}", json=session_body("alice's secret question"))
    return sid


def test_another_user_cannot_read_a_session_by_its_id(bob, alices_session):
    assert bob("GET", f"/session/{alices_session}").status_code == 404


def test_another_user_does_not_see_it_listed(bob, alices_session):
    assert alices_session not in [s["sessionId"] for s in bob("GET", "/session").json()]


def test_another_user_cannot_rename_or_delete_it(alice, bob, alices_session):
    assert bob("PUT", f"/session/{alices_session}/name", json={"name": "mine now"}).status_code == 404
    assert bob("DELETE", f"/session/{alices_session}").status_code == 404
    assert alice("GET", f"/session/{alices_session}").json()["name"] == "About RAG"


def test_another_users_put_with_the_same_id_does_not_overwrite_it(alice, bob, alices_session):
    assert bob("PUT", f"/session/{alices_session}", json=session_body("bob's own")).status_code == 200
    assert alice("GET", f"/session/{alices_session}").json()["history"][1]["content"] == "alice's secret question"
    assert bob("GET", f"/session/{alices_session}").json()["history"][1]["content"] == "bob's own"


def test_deleting_all_of_mine_leaves_other_users_sessions(alice, bob, alices_session):
    bob("PUT", f"/session/{new_id()}", json=session_body())
    deleted = bob("DELETE", "/session").json()
    assert deleted["deleted"] is True and deleted["count"] >= 1
    assert bob("GET", "/session").json() == []
    assert alice("GET", f"/session/{alices_session}").status_code == 200


def test_a_jwt_users_sessions_belong_to_its_subject(api_server, platform):
    import boto3  # noqa: F401 (the Cognito user is made with the same client factory as everything else)

    outputs, _ = platform
    idp = aws.client("cognito-idp")
    username, password = f"carol-{uuid.uuid4().hex[:6]}", "Carol-Passw0rd!"
    idp.admin_create_user(UserPoolId=outputs.auth.user_pool_id, Username=username, MessageAction="SUPPRESS",
                          TemporaryPassword="Tmp-Passw0rd!")
    idp.admin_set_user_password(UserPoolId=outputs.auth.user_pool_id, Username=username, Password=password, Permanent=True)
    tokens = idp.admin_initiate_auth(UserPoolId=outputs.auth.user_pool_id, ClientId=outputs.auth.client_id,
                                     AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": username, "PASSWORD": password})["AuthenticationResult"]
    sub = next(a["Value"] for a in idp.admin_get_user(UserPoolId=outputs.auth.user_pool_id, Username=username)["UserAttributes"]
               if a["Name"] == "sub")
    sid = new_id()
    response = requests.put(f"{api_server}/session/{sid}", json=session_body(), timeout=30,
                            headers={"authorization": f"Bearer {tokens['IdToken']}"})
    assert response.status_code == 200
    assert item(platform, sub, sid) is not None


# Large sessions ----------------------------------------------------------------------------------------------------
def large_body(kib: int):
    # Varied text (not one repeated string), so the stored size is honest after compression too.
    import random

    rng = random.Random(kib)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma"]
    messages = []
    while sum(len(m["content"]) for m in messages) < kib * 1024:
        messages.append({"role": "user" if len(messages) % 2 == 0 else "assistant",
                         "content": " ".join(rng.choice(words) for _ in range(400))})
    return {"messages": messages, "name": "long one"}


def test_a_session_larger_than_a_dynamodb_item_is_saved_whole(alice, platform):
    sid, body = new_id(), large_body(900)
    assert alice("PUT", f"/session/{sid}", json=body).status_code == 200
    assert alice("GET", f"/session/{sid}").json()["history"] == body["messages"]
    stored = item(platform, "alice-id", sid)
    assert "bodyKey" in stored and "body" not in stored


def test_deleting_a_large_session_removes_its_s3_object(alice, platform):
    outputs, _ = platform
    sid = new_id()
    alice("PUT", f"/session/{sid}", json=large_body(500))
    key = item(platform, "alice-id", sid)["bodyKey"]
    alice("DELETE", f"/session/{sid}")
    listed = aws.client("s3").list_objects_v2(Bucket=outputs.buckets.sessions, Prefix=key)
    assert listed.get("KeyCount", 0) == 0


def test_a_large_session_that_shrinks_moves_back_into_the_table(alice, platform):
    outputs, _ = platform
    sid = new_id()
    alice("PUT", f"/session/{sid}", json=large_body(500))
    key = item(platform, "alice-id", sid)["bodyKey"]
    alice("PUT", f"/session/{sid}", json=session_body())
    assert "body" in item(platform, "alice-id", sid)
    assert aws.client("s3").list_objects_v2(Bucket=outputs.buckets.sessions, Prefix=key).get("KeyCount", 0) == 0


def test_a_body_over_the_limit_is_refused_not_truncated(alice):
    sid = new_id()
    response = alice("PUT", f"/session/{sid}", json=large_body(SESSIONS_MAX_BYTES // 1024 + 64))
    assert response.status_code == 413 and response.json()["error"] == "RequestTooLargeError"  # the body limit's
    assert alice("GET", f"/session/{sid}").status_code == 404


# Bad requests ------------------------------------------------------------------------------------------------------
def test_a_malformed_session_id_is_a_400(alice):
    response = alice("GET", "/session/has%20space")
    assert response.status_code == 400 and "sessionId" in response.json()["message"]


def test_a_message_without_a_role_is_a_422(alice):
    response = alice("PUT", f"/session/{new_id()}", json={"messages": [{"content": "who said this?"}]})
    assert response.status_code == 422 and "role" in response.json()["message"]


def test_a_body_that_is_not_json_is_refused(alice):
    response = alice("PUT", f"/session/{new_id()}", data=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code in (400, 422) and response.json()["error"]


def test_no_credentials_is_a_401(api_server):
    response = requests.get(f"{api_server}/session", timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "AuthenticationError"


# Concurrent writes (hardening M5) ----------------------------------------------------------------------------------
def objects_of(platform, user_id: str, sid: str) -> list[str]:
    from services.api.session_store import session_prefix

    outputs, _ = platform
    listed = aws.client("s3").list_objects_v2(Bucket=outputs.buckets.sessions, Prefix=session_prefix(user_id, sid))
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_write_based_on_an_old_version_is_a_409_and_changes_nothing(alice):
    sid = new_id()
    first = alice("PUT", f"/session/{sid}", json=session_body("first")).json()
    alice("PUT", f"/session/{sid}", json={**session_body("second tab"), "version": first["version"]})
    stale = alice("PUT", f"/session/{sid}", json={**session_body("first tab, stale"), "version": first["version"]})
    assert stale.status_code == 409 and stale.json()["error"] == "SessionConflictError"
    assert alice("GET", f"/session/{sid}").json()["history"][1]["content"] == "second tab"


def test_a_rename_moves_the_version_so_a_stale_put_cannot_undo_it(alice):
    sid = new_id()
    version = alice("PUT", f"/session/{sid}", json=session_body()).json()["version"]
    assert alice("PUT", f"/session/{sid}/name", json={"name": "Renamed"}).json()["version"] == version + 1
    assert alice("PUT", f"/session/{sid}", json={**session_body(), "version": version}).status_code == 409
    assert alice("GET", f"/session/{sid}").json()["name"] == "Renamed"


def test_twenty_concurrent_writes_leave_a_readable_session_and_no_orphan(alice, platform):
    from concurrent.futures import ThreadPoolExecutor

    sid = new_id()
    alice("PUT", f"/session/{sid}", json=large_body(400))
    bodies = [large_body(400 + i) if i % 2 else session_body(f"small {i}") for i in range(20)]
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda body: alice("PUT", f"/session/{sid}", json=body).status_code, bodies))
    assert set(statuses) <= {200, 409} and 200 in statuses
    got = alice("GET", f"/session/{sid}")
    assert got.status_code == 200 and got.json()["history"] in [b["messages"] for b in bodies]
    stored = item(platform, "alice-id", sid)
    assert objects_of(platform, "alice-id", sid) == ([stored["bodyKey"]] if "bodyKey" in stored else [])
