"""Sessions: saved after each answer, found again after a reload, named by the URL, renamed, searched, exported, deleted."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.pages import chat_id, id_token, new_chat, pick_model, send, session_item, sign_in, unique, wait_answer
from tests.e2e.stack import FAST_MODEL

pytestmark = pytest.mark.e2e


def test_a_session_survives_reload_and_back_forward_then_is_renamed_exported_and_deleted(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, FAST_MODEL)
    question = unique("Tell me about pgvector indexes")
    name = unique("Vector notes")
    send(page, question)
    wait_answer(page, f"Echo: {question}")
    session_id = chat_id(page)
    expect(session_item(page, question)).to_be_visible()

    page.reload()
    expect(page.get_by_test_id("assistant-message")).to_contain_text(f"Echo: {question}")
    expect(session_item(page, question)).to_have_attribute("class", "current")

    assert new_chat(page) != session_id
    expect(page.get_by_text("Ask a question to start.")).to_be_visible()
    page.go_back()
    expect(page.get_by_test_id("assistant-message")).to_contain_text(f"Echo: {question}")
    assert chat_id(page) == session_id
    page.go_forward()
    expect(page.get_by_text("Ask a question to start.")).to_be_visible()
    page.go_back()

    search = page.get_by_label("Search sessions by title")
    search.fill(question.upper().replace("TELL ME ABOUT ", ""))
    expect(page.get_by_test_id("session-item")).to_have_count(1)
    search.fill("no such words")
    expect(page.get_by_text("No session matches.")).to_be_visible()
    search.fill("")

    page.get_by_role("button", name=f"Rename {question}").click()
    page.get_by_label("New name").fill(name)
    page.get_by_label("New name").press("Enter")
    expect(session_item(page, name)).to_be_visible()
    expect(page.get_by_test_id("chat-title")).to_have_text(name)
    page.reload()
    expect(session_item(page, name)).to_be_visible()
    expect(page.get_by_test_id("chat-title")).to_have_text(name)
    screenshots(page, "sessions")

    page.get_by_role("button", name="Export this session").click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name="Markdown").click()
    markdown = open(download.value.path()).read()
    assert markdown.startswith(f"# {name}")
    assert f"Echo: {question}" in markdown

    page.get_by_role("button", name=f"Delete {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(session_item(page, name)).to_have_count(0)
    response = requests.get(f"{local_stack.api}/session/{session_id}", headers={"Authorization": f"Bearer {id_token(page)}"}, timeout=10)
    assert response.status_code == 404


def test_the_session_list_is_newest_first(new_page, local_stack):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, FAST_MODEL)
    older, newer = unique("older session question"), unique("newer session question")
    for title in (older, newer):
        new_chat(page)
        send(page, title)
        wait_answer(page, f"Echo: {title}")
        expect(session_item(page, title)).to_be_visible()
    titles = page.get_by_test_id("session-item").locator(".session-title").all_inner_texts()
    assert titles.index(newer) < titles.index(older)
