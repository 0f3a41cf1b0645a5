"""Who sees what: sign-in, sign-out, and admin pages only for admins (the API refuses the rest with 403)."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.pages import id_token, pick_model, send, sign_in, unique, wait_answer
from tests.e2e.stack import FAST_MODEL

pytestmark = pytest.mark.e2e


def test_a_wrong_password_is_refused_with_the_sign_in_service_message(new_page, local_stack, screenshots):
    page = new_page()
    page.goto(local_stack.web)
    screenshots(page, "login")
    page.get_by_label("Username").fill(local_stack.user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect username or password")


def test_signing_out_returns_to_the_sign_in_form(new_page, local_stack):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_non_admin_sees_no_admin_pages_and_the_api_refuses_them(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Chat")).to_be_visible()
    expect(navigation.get_by_role("link", name="Models")).to_have_count(0)
    expect(navigation.get_by_role("link", name="API tokens")).to_have_count(0)
    page.goto(local_stack.web + "/admin/models")
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
    screenshots(page, "non-admin-admin-page")

    bearer = {"Authorization": f"Bearer {id_token(page)}"}
    assert requests.get(f"{local_stack.api}/models", headers=bearer, timeout=10).status_code == 200  # their models
    assert requests.post(f"{local_stack.api}/models", json={"modelId": "x"}, headers=bearer,
                         timeout=10).status_code == 403
    assert requests.post(f"{local_stack.api}/api-tokens/someone", json={"name": "x"}, headers=bearer,
                         timeout=10).status_code == 403
    assert requests.get(f"{local_stack.serve}/models", headers=bearer, timeout=10).status_code == 200


def test_an_admin_sees_the_admin_pages(new_page, local_stack):
    page = new_page()
    sign_in(page, local_stack, local_stack.admin)
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Models")).to_be_visible()
    expect(navigation.get_by_role("link", name="API tokens")).to_be_visible()


def test_a_refused_id_token_is_renewed_with_the_refresh_token(new_page, local_stack):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    # Break the stored token's signature: the APIs refuse it (401), and the UI must renew it and carry on.
    broken = page.evaluate("""() => {
        const tokens = JSON.parse(sessionStorage.getItem('lisa.auth.tokens'));
        const last = tokens.idToken.slice(-1);
        tokens.idToken = tokens.idToken.slice(0, -4) + (last === 'A' ? 'BBBB' : 'AAAA');
        sessionStorage.setItem('lisa.auth.tokens', JSON.stringify(tokens));
        return tokens.idToken;
    }""")
    page.reload()
    pick_model(page, FAST_MODEL)
    question = unique("still signed in")
    send(page, question)
    wait_answer(page, f"Echo: {question}")
    assert id_token(page) != broken
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
