"""The governance pages: "My API tokens" (self-service for the API group, a clear note for everyone else), usage
charts with the requests really sent through serve (everyone's for admins, one's own for a user), and the audit log's
filters and pages."""

from __future__ import annotations

import time

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.pages import id_token, nav, sign_in, unique
from tests.e2e.stack import FAST_MODEL, LocalStack, User, add_user, cognito_id_token
from tests.fixtures.eventually import eventually

pytestmark = pytest.mark.e2e

API_GROUP = "lisa-api-users"  # Pulumi.dev.yaml's authConfig.apiGroup, which the local stack keeps


@pytest.fixture(scope="module")
def api_user(local_stack: LocalStack) -> User:
    """A user in the API group (not an admin): may issue their own tokens."""
    config = requests.get(f"{local_stack.web}/config.json", timeout=10).json()
    assert config["auth"]["apiGroup"] == API_GROUP
    user = User("e2e-api-user", "E2e-Api-Passw0rd!")
    add_user(local_stack.emulator, config["auth"]["authority"].rstrip("/").rsplit("/", 1)[-1], user, (API_GROUP,))
    return user


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _chat(stack: LocalStack, token: str, text: str = "count my tokens") -> requests.Response:
    response = requests.post(f"{stack.serve}/chat/completions", headers=_bearer(token), timeout=30,
                             json={"model": FAST_MODEL, "messages": [{"role": "user", "content": text}]})
    assert response.status_code == 200, response.text
    return response


def _open_account_page(page: Page, name: str) -> None:
    page.get_by_role("button", name="Account of").click()
    page.get_by_role("menuitem", name=name).click()


def _token_row(page: Page, name: str):
    return page.get_by_test_id("token-row").filter(has_text=name)


# My API tokens ---------------------------------------------------------------------------------------------------
def test_an_api_group_member_creates_uses_and_revokes_their_own_token(new_page, local_stack, api_user, screenshots):
    page = new_page()
    sign_in(page, local_stack, api_user)
    _open_account_page(page, "My API tokens")
    expect(page.get_by_role("heading", name="My API tokens")).to_be_visible()
    name = unique("e2e-own").replace(" ", "-")
    form = page.get_by_role("form", name="Create a token")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Expires in (days)").fill("7")
    form.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("issued-token-value").inner_text().strip()
    screenshots(page, "my-tokens-issued")
    assert requests.get(f"{local_stack.serve}/models", headers=_bearer(token), timeout=10).status_code == 200

    page.get_by_role("button", name="Done").click()
    row = _token_row(page, name)
    expect(row).to_be_visible()
    expect(page.get_by_test_id("token-row")).to_have_count(len(_own_tokens(local_stack, page)))  # only their own
    assert token not in page.content()
    expires = int(time.time()) + 7 * 86400
    listed = next(t for t in _own_tokens(local_stack, page) if t["name"] == name)
    assert abs(listed["tokenExpiration"] - expires) < 120 and API_GROUP in listed["groups"]
    screenshots(page, "my-tokens")

    page.get_by_role("button", name=f"Revoke {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(row).to_have_count(0)
    eventually(lambda: requests.get(f"{local_stack.serve}/models", headers=_bearer(token), timeout=10).status_code
               == 401, 20, "serve refusing the revoked token", ignore=())


def _own_tokens(stack: LocalStack, page: Page) -> list[dict]:
    return requests.get(f"{stack.api}/api-tokens", headers=_bearer(id_token(page)), timeout=10).json()["tokens"]


def test_a_user_outside_the_api_group_is_told_why_and_sees_no_admin_pages(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    _open_account_page(page, "My API tokens")
    note = page.get_by_test_id("tokens-not-allowed")
    expect(note).to_contain_text("You cannot create API tokens")
    expect(note).to_contain_text(API_GROUP)
    expect(page.get_by_role("button", name="Create token")).to_have_count(0)
    screenshots(page, "my-tokens-not-allowed")
    navigation = page.get_by_role("navigation", name="Main")
    for admin_page in ("Usage", "Audit", "Models", "API tokens"):
        expect(navigation.get_by_role("link", name=admin_page, exact=True)).to_have_count(0)
    for path in ("/admin/usage", "/admin/audit"):
        page.goto(local_stack.web + path)
        expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
    bearer = _bearer(id_token(page))
    assert requests.post(f"{local_stack.api}/api-tokens", json={"name": "x"}, headers=bearer, timeout=10).status_code \
        == 403
    assert requests.get(f"{local_stack.api}/audit", headers=bearer, timeout=10).status_code == 403


# Usage -----------------------------------------------------------------------------------------------------------
def _stat(page: Page, name: str) -> int:
    return int(page.get_by_test_id(f"usage-total-{name}").locator("dd").inner_text().replace(",", ""))


def _usage_requests(stack: LocalStack, bearer: str) -> int:
    start = int(time.time()) - 7 * 86400
    answer = requests.get(f"{stack.api}/metrics/usage", headers=_bearer(bearer), params={"start": start}, timeout=30)
    return answer.json()["totals"]["requests"]


def test_the_admin_usage_page_charts_requests_by_model_and_user(new_page, local_stack, screenshots):
    admin_token = cognito_id_token(local_stack.emulator, local_stack.client_id, local_stack.admin)
    user_name = unique("e2e-metered").replace(" ", "-")
    issued = requests.post(f"{local_stack.api}/api-tokens/{user_name}", headers=_bearer(admin_token), timeout=10,
                           json={"name": "usage", "groups": ["e2e-team"]}).json()
    for i in range(4):
        _chat(local_stack, issued["token"], f"question {i}")

    page = new_page(width=1400, height=1000)
    sign_in(page, local_stack, local_stack.admin)
    nav(page, "Usage")
    expect(page.get_by_role("heading", name="Usage", exact=True)).to_be_visible()
    by_user = page.get_by_test_id("usage-by-user")

    def user_listed() -> bool:
        if by_user.filter(has_text=user_name).count():
            return True
        page.get_by_role("button", name="Refresh").click()
        return False

    eventually(user_listed, 30, "the metered user in the usage table", ignore=())
    expect(by_user.locator("tr").filter(has_text=user_name).locator("td").nth(1)).to_have_text("4")
    expect(page.get_by_test_id("usage-by-group")).to_contain_text("e2e-team")
    charts = page.get_by_test_id("usage-chart")
    expect(charts).to_have_count(4)
    for title in ("Requests by model", "Tokens by model", "Requests by user", "Tokens by user"):
        chart = page.get_by_role("figure", name=title)
        expect(chart.locator(".recharts-bar-rectangle").first).to_be_visible()
    expect(page.get_by_role("figure", name="Requests by model").locator(".recharts-legend-wrapper")).to_contain_text(
        FAST_MODEL)
    expect(page.get_by_role("figure", name="Requests by user").locator(".recharts-legend-wrapper")).to_contain_text(
        user_name)
    assert _stat(page, "requests") >= 4
    screenshots(page, "usage-admin", full_page=True)

    page.get_by_label("Range").select_option("30d")
    expect(page.get_by_role("figure", name="Requests by model").locator(".recharts-bar-rectangle").first).to_be_visible()
    screenshots(page, "usage-admin-30-days")


def test_my_usage_shows_only_my_own_figures(new_page, local_stack, api_user, screenshots):
    page = new_page()
    sign_in(page, local_stack, api_user)
    mine = id_token(page)
    before = _usage_requests(local_stack, mine)
    for i in range(3):
        _chat(local_stack, mine, f"my question {i}")  # in the chat as in a script: the caller's own ID token
    eventually(lambda: _usage_requests(local_stack, mine) == before + 3, 30, "the three requests metered", ignore=())

    _open_account_page(page, "My usage")
    expect(page.get_by_role("heading", name="My usage")).to_be_visible()
    expect(page.get_by_test_id("usage-total-requests").locator("dd")).to_have_text(str(before + 3))
    expect(page.get_by_test_id("usage-chart")).to_have_count(2)  # by model only: nobody else is in it
    expect(page.get_by_test_id("usage-by-user")).to_have_count(0)
    expect(page.get_by_role("figure", name="Tokens by model").locator(".recharts-bar-rectangle").first).to_be_visible()
    screenshots(page, "usage-mine", full_page=True)


# Audit -----------------------------------------------------------------------------------------------------------
def test_the_audit_page_filters_by_action_actor_and_outcome_and_pages(new_page, local_stack, api_user, screenshots):
    admin_token = cognito_id_token(local_stack.emulator, local_stack.client_id, local_stack.admin)
    member_token = cognito_id_token(local_stack.emulator, local_stack.client_id, api_user)

    def member_events(action: str) -> int:
        answer = requests.get(f"{local_stack.api}/audit", headers=_bearer(admin_token), timeout=10,
                              params={"actor": api_user.username, "action": action, "pageSize": 500})
        return len(answer.json()["items"])

    revokes_before = member_events("token.revoke")  # other tests' (and runs') revokes by the member
    for i in range(14):  # 28 token events by the API group member: more than one page of 25
        created = requests.post(f"{local_stack.api}/api-tokens", json={"name": f"audit-{i}"},
                                headers=_bearer(member_token), timeout=10).json()
        requests.delete(f"{local_stack.api}/api-tokens/{created['tokenUUID']}", headers=_bearer(member_token),
                        timeout=10)
    bogus = f"lisa-e2e-bogus-{time.time_ns()}"
    assert requests.get(f"{local_stack.api}/api-tokens", headers=_bearer(bogus), timeout=10).status_code == 401
    eventually(lambda: member_events("token.revoke") == revokes_before + 14, 30,
               "the member's token events in the audit log", ignore=())

    page = new_page(width=1400, height=1000)
    sign_in(page, local_stack, local_stack.admin)
    nav(page, "Audit")
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()

    page.get_by_label("Actor").fill(api_user.username)
    page.get_by_label("Action").fill("token.revoke")
    page.get_by_role("button", name="Apply").click()
    expect(rows.locator(":scope:not([data-action='token.revoke'])")).to_have_count(0)
    expect(rows).to_have_count(min(revokes_before + 14, 25))  # one page: all revokes by the member
    expect(rows.first).to_contain_text(api_user.username)
    screenshots(page, "audit-filtered")

    page.get_by_label("Action").fill("token")
    page.get_by_role("button", name="Apply").click()
    expect(rows.locator(":scope[data-action='token.create']").first).to_be_visible()
    expect(page.get_by_test_id("audit-page-number")).to_have_text("Page 1")
    expect(rows).to_have_count(25)
    first_page = rows.evaluate_all("rows => rows.map(r => r.dataset.eventId)")
    page.get_by_role("button", name="Older").click()
    expect(page.get_by_test_id("audit-page-number")).to_have_text("Page 2")
    expect(rows.first).not_to_have_attribute("data-event-id", first_page[0])
    second_page = rows.evaluate_all("rows => rows.map(r => r.dataset.eventId)")
    assert len(second_page) >= 3 and not set(second_page) & set(first_page)
    assert max(second_page) < min(first_page)  # ids start with the time: older
    page.get_by_role("button", name="Newer").click()
    expect(page.get_by_test_id("audit-page-number")).to_have_text("Page 1")
    expect(rows.first).to_have_attribute("data-event-id", first_page[0])

    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Outcome").select_option("denied")
    page.get_by_role("button", name="Apply").click()
    expect(rows.locator(":scope[data-action^='token']")).to_have_count(0)
    expect(rows.filter(has_text="auth.refused").first).to_be_visible()
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.action)")) <= {"auth.refused", "authz.refused"}
    assert bogus not in page.content()
    screenshots(page, "audit-refusals", full_page=True)
