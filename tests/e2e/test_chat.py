"""Chatting: streaming token by token, Stop, errors from the model, parameters, regenerate and edit-and-resend."""

from __future__ import annotations

import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.pages import composer, id_token, last_answer, pick_model, send, sign_in, unique, wait_answer
from tests.e2e.stack import DRIP_MODEL, FAST_MODEL, FAULT_MODEL
from tests.fixtures.eventually import eventually

pytestmark = pytest.mark.e2e


def test_an_answer_streams_token_by_token_and_stop_ends_it_upstream(new_page, local_stack, stand_in_stats, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, DRIP_MODEL)
    question = " ".join(f"w{i}" for i in range(60))
    send(page, question)
    answer = last_answer(page)
    lengths: set[int] = set()

    def grew_three_times() -> bool:
        lengths.add(len(answer.inner_text()))
        return len(lengths - {0}) >= 3

    # Sampled often: the answer must be seen at three lengths before it ends.
    eventually(grew_three_times, 20, "the answer growing while it streams", max_interval=0.05, ignore=())
    screenshots(page, "chat-streaming")
    cancelled_before = stand_in_stats()["streams_cancelled"]
    page.get_by_role("button", name="Stop the answer (Esc)").click()
    expect(answer.get_by_test_id("stopped-note")).to_be_visible()
    assert "w59" not in answer.inner_text()
    eventually(lambda: stand_in_stats()["streams_cancelled"] > cancelled_before, 10, "the upstream stream cancelled",
               ignore=())
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    screenshots(page, "chat-stopped")


def test_keyboard_shift_enter_breaks_the_line_enter_sends_and_escape_stops(new_page, local_stack):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, DRIP_MODEL)
    box = composer(page)
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two " + " ".join(f"x{i}" for i in range(40)))
    assert "line one\nline two" in box.input_value()
    box.press("Enter")
    expect(page.get_by_test_id("user-message").last).to_contain_text("line two")
    expect(last_answer(page)).to_contain_text("Echo:")
    page.keyboard.press("Escape")
    expect(last_answer(page).get_by_test_id("stopped-note")).to_be_visible()


def test_a_failing_model_shows_the_error_message_it_returned(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, FAULT_MODEL)
    send(page, "hello")
    error = last_answer(page).get_by_test_id("message-error")
    expect(error).to_contain_text("stand-in fault 500")
    screenshots(page, "chat-model-error")


def test_parameters_edit_and_regenerate_change_the_answer(new_page, local_stack):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, FAST_MODEL)
    send(page, "first question here")
    wait_answer(page, "Echo: first question here")

    page.get_by_test_id("user-message").first.get_by_role("button", name="Edit and resend this message").click()
    page.get_by_label("Edit message").fill("second question here")
    page.get_by_role("button", name="Save and send").click()
    wait_answer(page, "Echo: second question here")
    expect(page.get_by_test_id("assistant-message")).to_have_count(1)

    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Max tokens").fill("2")  # the stand-in stops after max_tokens words
    page.get_by_role("button", name="Regenerate answer").click()
    expect(last_answer(page)).to_have_attribute("aria-busy", "false")
    expect(last_answer(page).locator(".markdown")).to_have_text("Echo: second")
    expect(page.get_by_test_id("assistant-message")).to_have_count(1)


ANSWER_WITH_CODE = "Here is **bold** text and a function:\n\n```python\ndef hello():\n    return 42\n```\n"


def test_answers_render_markdown_with_highlighted_code_and_a_copy_button(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    # The stand-in's echo flattens whitespace, so the answer comes from a session saved through the API.
    session_id = str(uuid.uuid4())
    body = {"name": unique("markdown"), "model": FAST_MODEL, "configuration": {},
            "messages": [{"role": "user", "content": "Show me a function"},
                         {"role": "assistant", "content": ANSWER_WITH_CODE, "metadata": {"model": FAST_MODEL}}]}
    response = requests.put(f"{local_stack.api}/session/{session_id}", json=body,
                            headers={"Authorization": f"Bearer {id_token(page)}"}, timeout=10)
    assert response.status_code == 200, response.text
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=local_stack.web)
    page.goto(f"{local_stack.web}/chat/{session_id}")
    answer = last_answer(page)
    expect(answer.locator("strong")).to_have_text("bold")
    code = answer.locator(".code-block")
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    copy = code.get_by_role("button", name="Copy python block")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()").strip() == "def hello():\n    return 42"
    screenshots(page, "chat-markdown")
