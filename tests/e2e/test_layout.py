"""The UI on a phone-sized screen (375 px) and in the dark theme."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import pick_model, send, sign_in, unique, wait_answer
from tests.e2e.stack import FAST_MODEL

pytestmark = pytest.mark.e2e


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")


def test_chat_sessions_and_admin_fit_a_375px_screen(new_page, local_stack, screenshots):
    page = new_page(width=375, height=740)
    sign_in(page, local_stack, local_stack.admin)
    pick_model(page, FAST_MODEL)
    question = unique("hello from a phone")
    send(page, question)
    wait_answer(page, f"Echo: {question}")
    expect(page.get_by_test_id("user-message").last).to_be_in_viewport()
    _no_sideways_scroll(page)
    screenshots(page, "mobile-chat")
    page.get_by_role("button", name="Show sessions").click()
    expect(page.get_by_role("complementary", name="Sessions").get_by_text(question)).to_be_in_viewport()
    screenshots(page, "mobile-sessions")
    page.get_by_role("button", name="Close sessions").click()
    page.goto(local_stack.web + "/admin/models")
    expect(page.get_by_test_id("model-row").first).to_be_visible()
    _no_sideways_scroll(page)
    screenshots(page, "mobile-admin-models")


def test_the_dark_theme_follows_the_user_across_reloads_and_browsers(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    to_light = page.get_by_role("button", name="Switch to light theme")
    if to_light.is_visible():  # a run before this one left the user's preference at dark
        to_light.click()
    page.get_by_role("button", name="Switch to dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_role("button", name="Switch to light theme")).to_be_visible()
    expect(page.get_by_text("Ask a question to start.")).to_be_visible()
    expect(page.get_by_role("complementary", name="Sessions").locator("li, p.muted").first).to_be_visible()
    screenshots(page, "chat-dark")
    other_browser = new_page()  # a fresh context: nothing in its storage; the preference is the user's, server-side
    sign_in(other_browser, local_stack, local_stack.user)
    expect(other_browser.locator("html")).to_have_attribute("data-theme", "dark")
    other_browser.get_by_role("button", name="Switch to light theme").click()  # as the other tests expect it
    expect(other_browser.locator("html")).to_have_attribute("data-theme", "light")


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')
                    && !(el.tagName === 'BUTTON' && el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 120))"""


def test_every_control_on_the_main_screens_has_an_accessible_name(new_page, local_stack):
    page = new_page()
    sign_in(page, local_stack, local_stack.admin)
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Answer from documents").check()
    screens = {"chat": None, "documents": "/documents", "models": "/admin/models", "tokens": "/admin/tokens",
               "compare": "/compare", "templates": "/templates", "tools": "/mcp", "configuration": "/admin/configuration"}
    for screen, path in screens.items():
        if path:
            page.goto(local_stack.web + path)
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert page.evaluate(UNLABELLED_CONTROLS) == [], screen
    page.goto(local_stack.web + "/admin/models")
    page.get_by_role("button", name="Add ECS-hosted model").click()
    expect(page.get_by_role("form", name="Create an ECS-hosted model")).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS) == [], "ECS form"
