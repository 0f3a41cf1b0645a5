"""The browser tests' world: the real local stack (tests/e2e/stack.py) and headless Chromium.

Once per test session: the local stack, started as `make run` starts it, with the stand-in upstream's models
registered; and one Chromium — Debian's `/usr/bin/chromium`, never a downloaded browser — driven by Playwright.
Each test gets fresh browser contexts. Screenshots of the main screens go to `<test output>/screenshots/`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.stack import LocalStack, running_local_stack, stack_from_json

CHROMIUM = Path(os.environ.get("LISA_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this offline machine refuses.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
# Two cores shared by the stack, the browser and whatever else runs: generous waits (they end as soon as the
# condition holds), and assertions as patient as actions.
DEFAULT_TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 60_000
expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


@pytest.fixture(scope="package")
def local_stack(request: pytest.FixtureRequest, test_output: Path) -> Iterator[LocalStack]:
    reuse = os.environ.get("LISA_E2E_STACK_FILE")  # a stack kept running by `python -m tests.e2e.stack`
    if reuse:
        yield stack_from_json(Path(reuse).read_text())
        return
    upstream = request.getfixturevalue("stand_in_upstream")
    with running_local_stack(upstream, test_output / "e2e") as stack:
        yield stack


@pytest.fixture
def stand_in_stats(local_stack: LocalStack):
    """The stand-in upstream's counters (requests seen, streams the client abandoned)."""
    root = local_stack.upstream.removesuffix("/v1")
    return lambda: requests.get(f"{root}/_stand_in/stats", timeout=5).json()


# Package scope: Playwright's sync API keeps an event loop running in this thread while it lives, which would
# break every later test that calls asyncio.run().
@pytest.fixture(scope="package")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (tools/bootstrap.sh browser does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh, empty user-data dir of its own.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(test_output: Path) -> Callable:
    folder = test_output / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str, *, full_page: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return shoot


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.e2e_failed = report.failed


@pytest.fixture
def new_page(request: pytest.FixtureRequest, browser, local_stack: LocalStack, test_output: Path) -> Iterator[Callable]:
    """Opens pages, each in a fresh browser context (no shared storage): `new_page(width=375)`.
    A failed test leaves a screenshot of each of its pages in `<test output>/e2e/failures/`."""
    contexts = []

    def open_page(*, width: int = 1280, height: int = 860):
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    if getattr(request.node, "e2e_failed", False):
        folder = test_output / "e2e" / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(p for c in contexts for p in c.pages):
            page.screenshot(path=str(folder / f"{request.node.name}-{i}.png"), full_page=True)
    for context in contexts:
        context.close()
