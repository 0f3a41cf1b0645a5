"""Sessions organised (issue 17): folders (LISA's projects) a session moves into and stays in, renamed, deleted; pinned
sessions; delete every session; and the admin configuration: a component switched off is gone for users, a system
banner shows.

The session tests sign in as a user of their own (delete all must reach no other test's sessions); the configuration
test puts the configuration back as it found it, since every user of the stack sees it."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.pages import (composer, id_token, nav, new_chat, pick_model, send, session_item, sign_in, unique,
                             wait_answer)
from tests.e2e.stack import FAST_MODEL, LocalStack, User, add_plain_user, cognito_id_token

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def organiser(local_stack: LocalStack) -> User:
    return add_plain_user(local_stack, "e2e-chat-organiser")


def group(page, title: str):
    """A section of the session list: "Pinned", a folder's name, or "History"."""
    return page.get_by_role("complementary", name="Sessions").get_by_role("region", name=title, exact=True)


def ask(page, question: str) -> None:
    new_chat(page)
    send(page, question)
    wait_answer(page, f"Echo: {question}")
    expect(session_item(page, question)).to_be_visible()


def test_a_session_moved_into_a_renamed_folder_and_one_pinned_stay_there_after_reload(
        new_page, local_stack, organiser, screenshots):
    folder, filed, pinned = unique("Harbour project"), unique("crane schedule question"), unique("tide table question")
    page = new_page()
    sign_in(page, local_stack, organiser)
    pick_model(page, FAST_MODEL)
    ask(page, filed)
    ask(page, pinned)

    page.get_by_role("button", name="New folder").click()
    page.get_by_label("Folder name").fill(folder)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(group(page, folder)).to_be_visible()
    page.get_by_label(f"Folder of {filed}").select_option(label=folder)
    expect(group(page, folder).get_by_test_id("session-item").filter(has_text=filed)).to_be_visible()
    expect(group(page, "History").get_by_test_id("session-item").filter(has_text=filed)).to_have_count(0)

    page.get_by_role("button", name=f"Pin {pinned}").click()
    expect(group(page, "Pinned").get_by_test_id("session-item").filter(has_text=pinned)).to_be_visible()
    expect(page.get_by_role("button", name=f"Unpin {pinned}")).to_have_attribute("aria-pressed", "true")
    screenshots(page, "sessions-folder-and-pinned")

    page.reload()
    expect(group(page, folder).get_by_test_id("session-item").filter(has_text=filed)).to_be_visible()
    expect(group(page, "Pinned").get_by_test_id("session-item").filter(has_text=pinned)).to_be_visible()
    expect(group(page, "History").get_by_test_id("session-item").filter(has_text=pinned)).to_have_count(0)

    renamed = unique("Port project")
    page.get_by_role("button", name=f"Rename the folder {folder}", exact=True).click()
    page.get_by_label("New folder name").fill(renamed)
    page.get_by_label("New folder name").press("Enter")
    expect(group(page, renamed).get_by_test_id("session-item").filter(has_text=filed)).to_be_visible()
    page.reload()
    expect(group(page, renamed).get_by_test_id("session-item").filter(has_text=filed)).to_be_visible()
    expect(group(page, folder)).to_have_count(0)
    folder = renamed

    # Unpinned, it goes back to the history; its folder deleted (sessions kept), the filed one does too.
    page.get_by_role("button", name=f"Unpin {pinned}").click()
    expect(group(page, "History").get_by_test_id("session-item").filter(has_text=pinned)).to_be_visible()
    page.get_by_role("button", name=f"Delete the folder {folder}", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete folder").click()
    expect(group(page, folder)).to_have_count(0)
    expect(group(page, "History").get_by_test_id("session-item").filter(has_text=filed)).to_be_visible()
    page.reload()
    expect(group(page, "History").get_by_test_id("session-item").filter(has_text=filed)).to_be_visible()
    expect(group(page, "Pinned")).to_have_count(0)


def test_delete_all_asks_first_then_removes_every_session(new_page, local_stack, organiser):
    page = new_page()
    sign_in(page, local_stack, organiser)
    pick_model(page, FAST_MODEL)
    first, second = unique("first of many"), unique("second of many")
    ask(page, first)
    ask(page, second)
    count = page.get_by_test_id("session-item").count()
    assert count >= 2

    page.get_by_role("button", name="Delete all").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"All {count} of your sessions")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("session-item")).to_have_count(count)

    page.get_by_role("button", name="Delete all").click()
    page.get_by_role("dialog").get_by_role("button", name=f"Delete {count} sessions").click()
    expect(page.get_by_test_id("session-item")).to_have_count(0)
    expect(page.get_by_text("Ask a question to start.")).to_be_visible()
    listed = requests.get(f"{local_stack.api}/session", headers={"Authorization": f"Bearer {id_token(page)}"},
                          timeout=30)
    assert listed.status_code == 200, listed.text
    assert listed.json() == []
    page.reload()
    expect(page.get_by_text("No saved sessions yet.")).to_be_visible()


@pytest.fixture
def configuration_restored(local_stack: LocalStack) -> Iterator[None]:
    """Saves the global configuration back as it was, whatever the test did to it."""
    token = cognito_id_token(local_stack.emulator, local_stack.client_id, local_stack.admin)
    headers = {"Authorization": f"Bearer {token}"}
    before = requests.get(f"{local_stack.api}/configuration", params={"configScope": "global"}, headers=headers,
                          timeout=30)
    assert before.status_code == 200, before.text
    yield
    restored = requests.put(f"{local_stack.api}/configuration/global", headers=headers, timeout=30,
                            json={"changeReason": "e2e: put back", "configuration": before.json()[0]["configuration"]})
    assert restored.status_code == 200, restored.text


def test_a_component_switched_off_is_gone_for_users_and_the_banner_shows(
        new_page, local_stack, organiser, configuration_restored, screenshots):
    banner = unique("Maintenance on Saturday from 08:00")
    admin = new_page()
    sign_in(admin, local_stack, local_stack.admin, "/admin/configuration")
    form = admin.get_by_role("form", name="Configuration")
    form.get_by_label("Model comparison").uncheck()
    form.get_by_label("Attach files to a message").uncheck()
    form.get_by_label("Show a banner to everyone").check()
    form.get_by_label("Text", exact=True).fill(banner)
    form.get_by_label("Why (kept with this version)").fill("e2e: maintenance notice")
    form.get_by_role("button", name="Save version").click()
    expect(form.get_by_role("status")).to_contain_text("Saved.")
    screenshots(admin, "admin-configuration", full_page=True)

    page = new_page()
    sign_in(page, local_stack, organiser)
    expect(page.get_by_role("status").filter(has_text=banner)).to_be_visible()
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name="Documents", exact=True)).to_be_visible()
    expect(main_nav.get_by_role("link", name="Compare", exact=True)).to_have_count(0)
    expect(composer(page)).to_be_visible()
    expect(page.get_by_role("button", name="Attach a file")).to_have_count(0)
    screenshots(page, "system-banner")

    # Switched on again, both come back for the user.
    form.get_by_label("Model comparison").check()
    form.get_by_label("Attach files to a message").check()
    form.get_by_role("button", name="Save version").click()
    expect(form.get_by_role("status")).to_contain_text("Saved.")
    page.reload()
    expect(main_nav.get_by_role("link", name="Compare", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Attach a file")).to_be_visible()
    nav(page, "Compare")
    expect(page.get_by_label("Model 1", exact=True)).to_be_visible()
