"""Administration: models (create, live status, stop, events, delete) and API tokens (issued once, listed, revoked)."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.pages import model_row, nav, offered_models, pick_model, send, sign_in, unique, wait_answer, wait_status
from tests.fixtures.eventually import eventually

pytestmark = pytest.mark.e2e


def test_a_litellm_model_created_in_the_form_is_offered_for_chat_until_stopped(new_page, local_stack, screenshots):
    model_id = unique("e2e-made").replace(" ", "-")
    page = new_page()
    sign_in(page, local_stack, local_stack.admin, "/admin/models")
    page.get_by_role("button", name="Add LiteLLM-only model").click()
    form = page.get_by_role("form", name="Create a LiteLLM-only model")
    form.get_by_label("Model ID").fill(model_id)
    form.get_by_label("Model name").fill("openai/stand-in-chat")
    form.get_by_label("Model URL").fill(local_stack.upstream)
    screenshots(page, "admin-create-litellm")
    form.get_by_role("button", name="Create model").click()
    expect(model_row(page, model_id)).to_be_visible()
    wait_status(page, model_id, "InService")
    screenshots(page, "admin-models")

    nav(page, "Chat")
    pick_model(page, model_id)
    send(page, "are you there")
    wait_answer(page, "Echo: are you there")

    nav(page, "Models")
    model_row(page, model_id).get_by_role("button", name=f"Stop {model_id}").click()
    wait_status(page, model_id, "Stopped")
    model_row(page, model_id).get_by_role("button", name=f"Events of {model_id}").click()
    expect(page.get_by_test_id("model-events").locator("li").first).to_be_visible()
    screenshots(page, "admin-model-events")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()

    nav(page, "Chat")

    def gone() -> bool:
        page.get_by_label("Model", exact=True).focus()
        return model_id not in offered_models(page)

    eventually(gone, 30, "the stopped model leaving the picker", ignore=())

    nav(page, "Models")
    model_row(page, model_id).get_by_role("button", name=f"Delete {model_id}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete model").click()
    expect(model_row(page, model_id)).to_have_count(0, timeout=90_000)


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
    name = unique("e2e-laptop").replace(" ", "-")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Issue token").click()
    token = page.get_by_test_id("issued-token-value").inner_text().strip()
    assert token
    screenshots(page, "tokens-issued")
    models = lambda: requests.get(f"{local_stack.serve}/models", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert models().status_code == 200

    page.get_by_role("button", name="Done").click()
    page.reload()
    expect(page.locator('[data-testid="token-row"]').filter(has_text=name)).to_be_visible()
    assert token not in page.content()

    page.get_by_role("button", name=f"Revoke {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator('[data-testid="token-row"]').filter(has_text=name)).to_have_count(0)
    eventually(lambda: models().status_code == 401, 20, "serve refusing the revoked token", ignore=())


def test_an_ecs_model_from_the_form_is_scaled_edited_and_deleted(new_page, local_stack, screenshots):
    model_id = unique("e2e-ecs").replace(" ", "-")
    page = new_page()
    sign_in(page, local_stack, local_stack.admin, "/admin/models")
    page.get_by_role("button", name="Add ECS-hosted model").click()
    form = page.get_by_role("form", name="Create an ECS-hosted model")
    form.get_by_label("Model ID").fill(model_id)
    form.get_by_label("Model name").fill("mistralai/Mistral-7B-Instruct-v0.2")
    screenshots(page, "admin-create-ecs", full_page=True)
    form.get_by_role("button", name="Create model").click()
    row = model_row(page, model_id)
    wait_status(page, model_id, "InService", timeout_ms=120_000)
    expect(row).to_contain_text("g5.xlarge")
    expect(row).to_contain_text("1 / 1 / 1")

    row.get_by_role("button", name=f"Scale {model_id}").click()
    scale = page.get_by_role("form", name=f"Scale {model_id}")
    scale.get_by_label("Max capacity").fill("3")
    scale.get_by_label("Desired capacity").fill("2")
    scale.get_by_role("button", name="Scale").click()
    expect(row).to_contain_text("1 / 2 / 3", timeout=60_000)
    wait_status(page, model_id, "InService", timeout_ms=120_000)

    row.get_by_role("button", name=f"Edit {model_id}").click()
    edit = page.get_by_role("form", name=f"Edit {model_id}")
    edit.get_by_label("Streaming").uncheck()
    edit.get_by_role("button", name="Save").click()
    expect(row.locator("td").nth(4)).to_have_text("no")
    wait_status(page, model_id, "InService", timeout_ms=120_000)

    row.get_by_role("button", name=f"Delete {model_id}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete model").click()
    expect(model_row(page, model_id)).to_have_count(0, timeout=120_000)
