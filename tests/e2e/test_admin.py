"""Administration: models (create, live status, stop, events, delete) and API tokens (issued once, listed, revoked)."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import poll, sign_in
from tests.e2e.pages import model_row, nav, offered_models, pick_model, send, wait_answer, wait_status

pytestmark = pytest.mark.e2e


def test_a_litellm_model_created_in_the_form_is_offered_for_chat_until_stopped(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.admin, "/admin/models")
    page.get_by_role("button", name="Add LiteLLM-only model").click()
    form = page.get_by_role("form", name="Create a LiteLLM-only model")
    form.get_by_label("Model ID").fill("e2e-made")
    form.get_by_label("Model name").fill("openai/stand-in-chat")
    form.get_by_label("Model URL").fill(local_stack.upstream)
    screenshots(page, "admin-create-litellm")
    form.get_by_role("button", name="Create model").click()
    expect(model_row(page, "e2e-made")).to_be_visible()
    wait_status(page, "e2e-made", "InService")
    screenshots(page, "admin-models")

    nav(page, "Chat")
    pick_model(page, "e2e-made")
    send(page, "are you there")
    wait_answer(page, "Echo: are you there")

    nav(page, "Models")
    model_row(page, "e2e-made").get_by_role("button", name="Stop e2e-made").click()
    wait_status(page, "e2e-made", "Stopped")
    model_row(page, "e2e-made").get_by_role("button", name="Events of e2e-made").click()
    expect(page.get_by_test_id("model-events").locator("li").first).to_be_visible()
    screenshots(page, "admin-model-events")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()

    nav(page, "Chat")

    def gone() -> bool:
        page.get_by_label("Model", exact=True).focus()
        return "e2e-made" not in offered_models(page)

    poll(gone, timeout=30, interval=0.5, what="the stopped model leaving the picker")

    nav(page, "Models")
    model_row(page, "e2e-made").get_by_role("button", name="Delete e2e-made").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete model").click()
    expect(model_row(page, "e2e-made")).to_have_count(0, timeout=90_000)


def test_the_create_form_shows_the_api_validation_message(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.admin, "/admin/models")
    page.get_by_role("button", name="Add LiteLLM-only model").click()
    form = page.get_by_role("form", name="Create a LiteLLM-only model")
    form.get_by_label("Model ID").fill("Not_A_Valid_Id")
    form.get_by_label("Model name").fill("openai/stand-in-chat")
    form.get_by_label("Model URL").fill(local_stack.upstream)
    form.get_by_role("button", name="Create model").click()
    expect(form.get_by_role("alert")).to_contain_text("modelId")
    screenshots(page, "admin-validation-error")
    expect(model_row(page, "Not_A_Valid_Id")).to_have_count(0)


def test_an_api_token_is_shown_once_works_and_stops_working_when_revoked(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.admin, "/admin/tokens")
    page.get_by_label("Name").fill("e2e-laptop")
    page.get_by_role("button", name="Issue token").click()
    token = page.get_by_test_id("issued-token-value").inner_text().strip()
    assert token
    screenshots(page, "tokens-issued")
    models = lambda: requests.get(f"{local_stack.serve}/models", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert models().status_code == 200

    page.get_by_role("button", name="Done").click()
    page.reload()
    expect(page.locator('[data-testid="token-row"]').filter(has_text="e2e-laptop")).to_be_visible()
    assert token not in page.content()

    page.get_by_role("button", name="Revoke e2e-laptop").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator('[data-testid="token-row"]').filter(has_text="e2e-laptop")).to_have_count(0)
    poll(lambda: models().status_code == 401, timeout=20, what="serve refusing the revoked token")
