"""RAG: upload a document with progress, watch it ingest, ask about it, see where the answer came from, delete it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import confirm_delete, last_answer, nav, pick_model, send, sign_in, unique, wait_answer
from tests.e2e.stack import FAST_MODEL

pytestmark = pytest.mark.e2e

REPOSITORY = "team-docs"  # the pgvector repository of Pulumi.dev.yaml, on the embedded PostgreSQL
GUIDE = """# Zephyr gateway operations guide

The Zephyr gateway listens on port 7311 and forwards requests to the inference fleet.

## Restarting

Restart the Zephyr gateway with the drain flag so in-flight requests finish first.
"""


def test_an_uploaded_document_is_ingested_and_cited_under_the_answer(new_page, local_stack, screenshots, tmp_path: Path):
    file_name = unique("zephyr-guide").replace(" ", "-") + ".md"
    document = tmp_path / file_name
    document.write_text(GUIDE)
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    nav(page, "Documents")
    page.get_by_label("Repository").select_option(REPOSITORY)
    expect(page.get_by_label("Embedding model")).not_to_have_value("")
    page.get_by_label("Files (text, Markdown, PDF, DOCX)").set_input_files(str(document))
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.get_by_test_id("document-row").filter(has_text=file_name)
    expect(row.get_by_test_id("document-status")).to_contain_text("Ready", timeout=90_000)
    screenshots(page, "documents")

    page.get_by_role("button", name="Ask about these documents").click()
    expect(page.get_by_text(f"Answering from {REPOSITORY}")).to_be_visible()
    pick_model(page, FAST_MODEL)
    send(page, "Which port does the Zephyr gateway listen on?")
    wait_answer(page, "Echo: Which port does the Zephyr gateway listen on?")
    sources = last_answer(page).get_by_label("Sources")
    expect(sources).to_contain_text(file_name)
    screenshots(page, "rag-cited-answer")

    nav(page, "Documents")
    page.get_by_label("Repository").select_option(REPOSITORY)
    confirm_delete(page, f"Delete {file_name}")
    expect(page.get_by_test_id("document-row").filter(has_text=file_name)).to_have_count(0)


def test_an_unsupported_file_is_refused_with_the_api_message(new_page, local_stack, tmp_path: Path):
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    page = new_page()
    sign_in(page, local_stack, local_stack.user)
    nav(page, "Documents")
    page.get_by_label("Repository").select_option(REPOSITORY)
    page.get_by_label("Files (text, Markdown, PDF, DOCX)").set_input_files(str(binary))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_test_id("upload-row").get_by_role("alert")).to_contain_text("image.png")
    expect(page.get_by_test_id("document-row").filter(has_text="image.png")).to_have_count(0)
