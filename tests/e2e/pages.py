"""What the tests do on the UI's screens, in the words of its labels (the accessible names users and readers see)."""

from __future__ import annotations

import json
import re
import secrets
from typing import Callable

from playwright.sync_api import Page, expect

from tests.e2e.stack import LocalStack, User
from tests.fixtures.eventually import eventually


def unique(text: str) -> str:
    """Text no earlier run left behind (the stack may be reused across runs)."""
    return f"{text} {secrets.token_hex(3)}"


def sign_in(page: Page, stack: LocalStack, user: User, path: str = "/") -> None:
    page.goto(stack.web + path)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def id_token(page: Page) -> str:
    """The ID token the signed-in page sends as its bearer credential."""
    return json.loads(page.evaluate("sessionStorage.getItem('lisa.auth.tokens')"))["idToken"]


def composer(page: Page):
    return page.get_by_role("textbox", name="Message", exact=True)


def model_picker(page: Page):
    return page.get_by_label("Model", exact=True)


def offered_models(page: Page) -> list[str]:
    return model_picker(page).locator("option").evaluate_all("options => options.map(o => o.value)")


def pick_model(page: Page, model: str, timeout: float = 30.0) -> None:
    """Selects `model` once the picker offers it (focusing the picker makes the UI ask serve again)."""
    def offered() -> bool:
        model_picker(page).focus()
        return model in offered_models(page)

    eventually(offered, timeout, f"model {model} in the picker", ignore=())
    model_picker(page).select_option(model)


def new_chat(page: Page) -> str:
    """Starts a new chat and waits until its page is on screen; its id. React renders a navigation in a transition, so
    text typed before that lands in the previous page's composer and is gone with it (a busy box showed this)."""
    before = page.url
    page.get_by_role("button", name="New chat").click()
    page.wait_for_url(lambda url: url != before)
    session_id = chat_id(page)
    expect(page.locator(f'section.chat[data-session-id="{session_id}"]')).to_be_visible()
    return session_id


def send(page: Page, text: str) -> None:
    composer(page).fill(text)
    composer(page).press("Enter")


def last_answer(page: Page):
    return page.get_by_test_id("assistant-message").last


def wait_answer(page: Page, text: str) -> None:
    answer = last_answer(page)
    expect(answer).to_contain_text(text)
    expect(answer).to_have_attribute("aria-busy", "false")


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def session_item(page: Page, title: str):
    return page.get_by_test_id("session-item").filter(has_text=title)


def model_row(page: Page, model_id: str):
    return page.locator(f'[data-testid="model-row"][data-model-id="{model_id}"]')


def wait_status(page: Page, model_id: str, status: str, timeout_ms: int = 90_000) -> None:
    expect(model_row(page, model_id).get_by_test_id("model-status")).to_have_text(status, timeout=timeout_ms)


def chat_id(page: Page) -> str:
    match = re.search(r"/chat/([A-Za-z0-9_-]+)", page.url)
    assert match, page.url
    return match.group(1)


def confirm_delete(page: Page, label: str, confirm: str = "Delete") -> None:
    """Press the row's `label` button and confirm in its dialog. A list that is still loading may re-render the row
    and close a dialog opened on the old one, so the button is pressed again until the dialog is there."""
    dialog = page.get_by_role("dialog")

    def dialog_open() -> bool:
        if dialog.is_visible():
            return True
        page.get_by_role("button", name=label).click()
        return dialog.is_visible()

    eventually(dialog_open, 30, f"the dialog of {label}", ignore=())
    dialog.get_by_role("button", name=confirm).click()
    expect(dialog).to_have_count(0)
