"""Around an answer (issue 17): an image attached to a question goes to the model as an image part and is shown again
after a reload; "Summarise" on the documents page asks a new chat about that document; the chat parameters refuse
bad values inline and send good ones; token usage per answer and per session; feedback an admin then reads.

These tests sign in as a user of their own, so what they leave (sessions, feedback) touches no other test."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.pages import (confirm_delete, last_answer, model_picker, nav, pick_model, send, session_item, sign_in,
                             unique, wait_answer)
from tests.e2e.stack import FAST_MODEL, LocalStack, User, add_plain_user
from tests.fixtures.eventually import eventually

pytestmark = pytest.mark.e2e

REPOSITORY = "team-docs"  # the pgvector repository of Pulumi.dev.yaml


@pytest.fixture(scope="module")
def asker(local_stack: LocalStack) -> User:
    return add_plain_user(local_stack, "e2e-chat-answers")


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG of that size in one colour (its dimensions tell, in the browser, that these bytes came back)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def open_settings(page) -> None:
    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_label("System prompt")).to_be_visible()


def test_an_attached_image_goes_to_the_model_as_an_image_part_and_is_shown_after_reload(
        new_page, local_stack, asker, stand_in_stats, screenshots, tmp_path: Path):
    image = png_bytes(7, 5)
    path = tmp_path / "red-square.png"
    path.write_bytes(image)
    page = new_page()
    sign_in(page, local_stack, asker)
    pick_model(page, FAST_MODEL)
    page.get_by_test_id("attach-input").set_input_files(str(path))
    expect(page.get_by_test_id("attachment").filter(has_text="red-square.png")).to_be_visible()
    question = unique("What colour is this square?")
    send(page, question)
    wait_answer(page, f"Echo: {question}")

    sent = stand_in_stats()["last_request"]["body"]["messages"][-1]
    assert sent["role"] == "user"
    assert [part["type"] for part in sent["content"]] == ["text", "image_url"], sent
    assert sent["content"][0]["text"] == question
    assert sent["content"][1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(image).decode()

    expect(session_item(page, question)).to_be_visible()  # saved
    page.reload()
    shown = page.get_by_test_id("user-message").filter(has_text=question).get_by_role("img", name="red-square.png")
    expect(shown).to_be_visible()
    # Read back from the session's stored image (through the api), not from the page's memory of the upload.
    expect(shown).to_have_attribute("src", re.compile(r"^blob:"))
    eventually(lambda: shown.evaluate("i => i.complete && [i.naturalWidth, i.naturalHeight]") == [7, 5], 15,
               "the stored image loaded at its size", ignore=())
    screenshots(page, "chat-attached-image")

    # Asked again after the reload, the model gets the earlier image as a fresh link to the stored bytes.
    follow_up = unique("and in daylight?")
    send(page, follow_up)
    wait_answer(page, f"Echo: {follow_up}")
    earlier = stand_in_stats()["last_request"]["body"]["messages"][0]
    assert earlier["content"][0] == {"type": "text", "text": question}, earlier
    link = earlier["content"][1]["image_url"]["url"]
    assert link.startswith("http"), link
    assert requests.get(link, timeout=30).content == image


def test_summarise_on_the_documents_page_asks_a_new_chat_about_that_document(
        new_page, local_stack, asker, tmp_path: Path):
    file_name = unique("harbour-notes").replace(" ", "-") + ".md"
    fact = unique("The harbour crane is inspected every second Tuesday")
    (tmp_path / file_name).write_text(f"# Harbour notes\n\n{fact}.\n")
    page = new_page()
    sign_in(page, local_stack, asker)
    pick_model(page, FAST_MODEL)  # the model the summary is asked of: the last one chosen
    nav(page, "Documents")
    page.get_by_label("Repository").select_option(REPOSITORY)
    expect(page.get_by_label("Embedding model")).not_to_have_value("")
    page.get_by_label("Files (text, Markdown, PDF, DOCX)").set_input_files(str(tmp_path / file_name))
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.get_by_test_id("document-row").filter(has_text=file_name)
    expect(row.get_by_test_id("document-status")).to_contain_text("Ready", timeout=90_000)
    try:
        row.get_by_role("button", name=f"Summarise {file_name}").click()
        expect(page).to_have_url(re.compile(r"/chat/[A-Za-z0-9_-]+$"))
        wait_answer(page, fact)
        question = page.get_by_test_id("user-message").last
        expect(question).to_contain_text("Summarise this document.")
        expect(question).to_contain_text(file_name)
        expect(model_picker(page)).to_have_value(FAST_MODEL)
    finally:
        # Its random stand-in vectors would compete with the RAG test's document for that test's top K.
        nav(page, "Documents")
        page.get_by_label("Repository").select_option(REPOSITORY)
        confirm_delete(page, f"Delete {file_name}")
        expect(page.get_by_test_id("document-row").filter(has_text=file_name)).to_have_count(0)


def test_parameters_out_of_range_are_refused_inline_and_valid_ones_reach_the_model(
        new_page, local_stack, asker, stand_in_stats, screenshots):
    page = new_page()
    sign_in(page, local_stack, asker)
    pick_model(page, FAST_MODEL)
    open_settings(page)
    temperature, penalty = page.get_by_label("Temperature"), page.get_by_label("Frequency penalty")
    temperature.fill("3")
    penalty.fill("-2.5")
    expect(temperature).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").filter(has_text="Temperature must be between 0 and 2.")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Frequency penalty must be between -2 and 2.")).to_be_visible()
    expect(page.get_by_role("button", name="Use these parameters for new chats")).to_be_disabled()
    screenshots(page, "chat-parameter-errors")

    chats_before = stand_in_stats()["chat"]
    question = unique("a question with careful parameters")
    send(page, question)
    expect(page.get_by_test_id("notice")).to_contain_text("Temperature must be between 0 and 2.")
    expect(page.get_by_test_id("user-message")).to_have_count(0)
    assert stand_in_stats()["chat"] == chats_before  # refused in the form: nothing went out

    temperature.fill("0.4")
    penalty.fill("0.5")
    expect(temperature).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_have_count(0)
    page.get_by_label("Presence penalty").fill("-1")
    page.get_by_label("Seed").fill("7")
    page.get_by_label("Max tokens").fill("64")
    page.get_by_label("Stop sequences (one per line)").fill("STOP-HERE")
    page.get_by_label("Reasoning effort").select_option("low")
    send(page, question)
    wait_answer(page, f"Echo: {question}")
    body = stand_in_stats()["last_request"]["body"]
    assert body["messages"][-1]["content"] == question
    assert (body["temperature"], body["frequency_penalty"], body["presence_penalty"]) == (0.4, 0.5, -1)
    assert (body["seed"], body["max_tokens"], body["stop"]) == (7, 64, ["STOP-HERE"])
    assert body["reasoning_effort"] == "low"

    # The history buffer: with 1, the model gets the new question alone, not the first turn.
    page.get_by_label("History (messages)").fill("1")
    follow_up = unique("and a follow-up")
    send(page, follow_up)
    wait_answer(page, f"Echo: {follow_up}")
    assert stand_in_stats()["last_request"]["body"]["messages"] == [{"role": "user", "content": follow_up}]

    # The parameters are the session's: they come back with it.
    expect(session_item(page, question)).to_be_visible()
    page.reload()
    wait_answer(page, f"Echo: {follow_up}")
    open_settings(page)
    expect(page.get_by_label("Temperature")).to_have_value("0.4")
    expect(page.get_by_label("Seed")).to_have_value("7")
    expect(page.get_by_label("History (messages)")).to_have_value("1")


def test_token_usage_is_shown_per_answer_and_per_session(new_page, local_stack, asker):
    # The stand-in counts words: a prompt of n words costs n tokens and its answer, "Echo: " + prompt, n + 1.
    first, second = unique("count these four"), unique("then two")
    page = new_page()
    sign_in(page, local_stack, asker)
    pick_model(page, FAST_MODEL)
    # The first answer's save is held until the second answer is written, as on a busy api: the saves must land in
    # order, the second based on the first (the second was refused as another tab's change, or the late first one
    # overwrote it, and the second turn was lost).
    held = []
    page.route(re.compile(r"/session/[A-Za-z0-9_-]+$"),
               lambda route: held.append(route) if route.request.method == "PUT" and not held else route.continue_())
    send(page, first)
    wait_answer(page, f"Echo: {first}")
    expect(last_answer(page).get_by_test_id("message-usage")).to_have_text("4 + 5 tokens")
    expect(page.get_by_test_id("session-tokens")).to_have_text("9 tokens")
    send(page, second)
    wait_answer(page, f"Echo: {second}")
    expect(last_answer(page).get_by_test_id("message-usage")).to_have_text("3 + 4 tokens")
    expect(page.get_by_test_id("session-tokens")).to_have_text("16 tokens")
    assert len(held) == 1, "the first save was not held"
    with page.expect_response(lambda r: r.request.method == "PUT" and "/session/" in r.url) as released:
        held[0].continue_()
    assert released.value.status == 200, released.value.text()
    expect(session_item(page, first)).to_contain_text("· 16 tokens")
    expect(page.get_by_test_id("save-conflict")).to_have_count(0)

    page.reload()
    expect(page.get_by_test_id("message-usage")).to_have_text(["4 + 5 tokens", "3 + 4 tokens"])
    expect(page.get_by_test_id("session-tokens")).to_have_text("16 tokens")
    expect(session_item(page, first)).to_contain_text("· 16 tokens")


def test_a_thumbs_down_with_a_comment_is_listed_for_admins(new_page, local_stack, asker, screenshots):
    question, comment = unique("what is the tide at noon"), unique("It only repeated my question")
    page = new_page()
    sign_in(page, local_stack, asker)
    pick_model(page, FAST_MODEL)
    send(page, question)
    wait_answer(page, f"Echo: {question}")
    expect(session_item(page, question)).to_be_visible()  # feedback goes with a saved session
    answer = last_answer(page)
    answer.get_by_role("button", name="Bad answer").click()
    answer.get_by_label("What was wrong? (optional)").fill(comment)
    answer.get_by_role("button", name="Send feedback").click()
    expect(answer.get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_role("button", name="Good answer")).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(last_answer(page).get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "true")

    admin = new_page()
    sign_in(admin, local_stack, local_stack.admin, "/admin/configuration")
    row = admin.get_by_test_id("feedback-row").filter(has_text=comment)
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text(asker.username)
    expect(cells.nth(2)).to_have_text(FAST_MODEL)
    expect(cells.nth(3)).to_have_text("bad")
    expect(cells.nth(5)).to_contain_text(f"Echo: {question}")
    screenshots(admin, "admin-feedback")
