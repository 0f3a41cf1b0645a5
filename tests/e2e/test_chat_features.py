"""The chat people choose: tools over MCP (registered on the Tools page, picked in the chat, each call shown with its
arguments, result and time, approval asked for), prompt templates with blanks, model comparison, files attached to a
question (a PDF, a document cut to fit), summarising a document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.pages import composer, id_token, last_answer, nav, pick_model, send, sign_in, unique, wait_answer
from tests.e2e.stack import DRIP_MODEL, FAST_MODEL, TOOL_MODEL
from tests.unit.test_rag_parsing import pdf_bytes

pytestmark = pytest.mark.e2e


def choose_tools(page, name: str) -> None:
    page.get_by_role("button", name="Choose tool connections").click()
    page.get_by_label(name).check()
    page.keyboard.press("Escape")


def test_tool_calls_run_and_show_in_the_conversation(new_page, local_stack, mcp_server, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    nav(page, "Tools")
    name = unique("Test tools")
    form = page.get_by_role("form", name="New connection")
    form.get_by_label("Name").fill(name)
    form.get_by_label("URL").fill(mcp_server.url)
    form.get_by_role("button", name="Test connection").click()
    expect(form.get_by_test_id("mcp-test-result")).to_contain_text("slow_echo, fail")
    screenshots(page, "mcp-connections")
    form.get_by_role("button", name="Add connection").click()
    expect(page.get_by_test_id("mcp-server-row").filter(has_text=name)).to_be_visible()

    nav(page, "Chat")
    pick_model(page, TOOL_MODEL)
    choose_tools(page, name)
    expect(page.get_by_role("button", name="Choose tool connections")).to_have_text("Tools (1)")
    send(page, 'use slow_echo {"text": "hello from the browser"}')
    wait_answer(page, "Tool results: echo: hello from the browser")
    call = last_answer(page).get_by_test_id("tool-call")
    expect(call.get_by_test_id("tool-status")).to_have_text("done")
    expect(call).to_contain_text("slow_echo")
    expect(call).to_contain_text(" ms")
    call.locator("summary").click()
    expect(call.get_by_test_id("tool-arguments")).to_contain_text("hello from the browser")
    expect(call.get_by_test_id("tool-result")).to_have_text("echo: hello from the browser")

    send(page, 'use fail {"reason": "shown to the user"}')
    failed = last_answer(page).get_by_test_id("tool-call")
    expect(failed.get_by_test_id("tool-status")).to_have_text("failed")
    failed.locator("summary").click()
    expect(failed.get_by_test_id("tool-result")).to_contain_text("failed on purpose: shown to the user")
    expect(last_answer(page)).to_have_attribute("aria-busy", "false")
    screenshots(page, "chat-tool-calls", full_page=True)


def test_a_connection_that_asks_waits_for_the_users_approval(new_page, local_stack, mcp_server):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    name = unique("Careful tools")
    created = requests.post(f"{local_stack.api}/mcp-server", timeout=30,
                            headers={"authorization": f"Bearer {id_token(page)}"},
                            json={"name": name, "url": mcp_server.url, "approval": "ask"})
    assert created.status_code == 200, created.text
    page.reload()  # the chat lists the connections when it opens
    pick_model(page, TOOL_MODEL)
    choose_tools(page, f"{name} (asks first)")
    send(page, 'use slow_echo {"text": "may I?"}')
    call = last_answer(page).get_by_test_id("tool-call")
    expect(call.get_by_test_id("tool-status")).to_have_text("waiting for your approval")
    call.get_by_role("button", name="Allow this call").click()
    wait_answer(page, "Tool results: echo: may I?")
    expect(call.get_by_test_id("tool-status")).to_have_text("done")


def test_templates_fill_their_blanks_and_start_a_persona_or_insert_a_directive(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    nav(page, "Templates")
    persona, directive = unique("Tour guide"), unique("Be brief")
    form = page.get_by_role("form", name="New template")
    form.get_by_label("Title").fill(persona)
    form.get_by_label("Text").fill("You are a tour guide for {{city}}. Answer in {{language}}.")
    form.get_by_role("button", name="Add template").click()
    expect(page.get_by_test_id("template-row").filter(has_text=persona)).to_be_visible()
    form.get_by_label("Title").fill(directive)
    form.get_by_label("Kind").select_option("directive")
    form.get_by_label("Text").fill("Answer in three sentences at most.")
    form.get_by_role("button", name="Add template").click()
    expect(page.get_by_test_id("template-row").filter(has_text=directive)).to_be_visible()

    nav(page, "Chat")
    pick_model(page, FAST_MODEL)
    page.get_by_role("button", name="Templates", exact=True).click()
    dialog = page.get_by_role("dialog", name="Prompt templates")
    dialog.get_by_label("Search templates").fill("tour guide for")
    dialog.get_by_role("button", name=persona).click()
    dialog.get_by_label("city").fill("Lisbon")
    dialog.get_by_label("language").fill("Portuguese")
    expect(dialog.get_by_test_id("template-preview")).to_have_text(
        "You are a tour guide for Lisbon. Answer in Portuguese.")
    screenshots(page, "template-picker")
    dialog.get_by_role("button", name="Use as system prompt").click()
    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_label("System prompt")).to_have_value("You are a tour guide for Lisbon. Answer in Portuguese.")

    composer(page).fill("What should I see first?")
    page.get_by_role("button", name="Templates", exact=True).click()
    dialog.get_by_role("button", name=directive).click()
    expect(composer(page)).to_have_value("What should I see first?\n\nAnswer in three sentences at most.")


def test_two_models_answer_side_by_side_and_one_becomes_a_session(new_page, local_stack, screenshots):
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    nav(page, "Compare")
    page.get_by_label("Model 1", exact=True).select_option(FAST_MODEL)
    page.get_by_label("Model 2", exact=True).select_option(DRIP_MODEL)
    question = unique("compare these two")
    page.get_by_label("Prompt", exact=True).fill(question)
    page.get_by_role("button", name="Compare", exact=True).click()
    columns = page.get_by_test_id("compare-column")
    for i in range(2):
        expect(columns.nth(i).get_by_test_id("compare-answer")).to_have_text(f"Echo: {question}")
        expect(columns.nth(i).get_by_test_id("compare-figures")).to_contain_text("tokens/s")
        expect(columns.nth(i).get_by_test_id("compare-figures")).to_contain_text(" out")
    screenshots(page, "model-comparison")
    columns.nth(1).get_by_role("button", name="Continue with this one").click()
    expect(page).to_have_url(re.compile(r"/chat/[A-Za-z0-9_-]+$"))
    wait_answer(page, f"Echo: {question}")
    expect(page.get_by_label("Model", exact=True)).to_have_value(DRIP_MODEL)


def test_an_attached_pdf_goes_into_the_question(new_page, local_stack, screenshots, tmp_path: Path):
    pdf = tmp_path / "quarterly-report.pdf"
    pdf.write_bytes(pdf_bytes(["Quarterly revenue grew by nine percent.", "Costs fell in every region."]))
    long = tmp_path / "long-notes.txt"
    long.write_text("All work and no play. " * 2000)  # 44 000 characters: more than the window takes
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, FAST_MODEL)
    page.get_by_test_id("attach-input").set_input_files([str(pdf), str(long)])
    chips = page.get_by_test_id("attachment")
    expect(chips).to_have_count(2)
    expect(chips.filter(has_text="long-notes.txt").get_by_test_id("truncation-notice")).to_contain_text(
        "context window of 8,192 tokens")
    chips.filter(has_text="long-notes.txt").get_by_role("button", name="Remove long-notes.txt").click()
    send(page, "What does the report say?")
    wait_answer(page, "Quarterly revenue grew by nine percent.")
    expect(page.get_by_test_id("user-message").last).to_contain_text("quarterly-report.pdf")
    screenshots(page, "chat-attached-pdf")


def test_a_document_is_summarised_from_the_composer(new_page, local_stack, tmp_path: Path):
    notes = tmp_path / "meeting-notes.md"
    notes.write_text("# Meeting\n\nWe agreed to ship the tide tables on Friday.")
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, FAST_MODEL)
    page.get_by_test_id("attach-input").set_input_files(str(notes))
    page.get_by_test_id("attachment").get_by_role("button", name="Summarise").click()
    wait_answer(page, "ship the tide tables on Friday")
    expect(page.get_by_test_id("user-message").last).to_contain_text("Summarise this document.")
