"""Debian's Chromium, headless through Playwright: the `chromium_browser` and `browser_page`
fixtures (never `playwright install`: the machine reaches no browser download)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from tests.services.common import ServiceUnavailable, start_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI, where the sandbox cannot start
    "--disable-gpu",
    # The machine has no network beyond the package registries: without these,
    # Chromium keeps trying to reach Google's services and fills the logs.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def find_chromium() -> str:
    path = os.environ.get("CLEARINGHOUSE_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        raise ServiceUnavailable(f"Chromium not found at {path}")
    return path


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright's sync API (never `playwright install`)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = start_or_fail("Chromium", find_chromium)
    playwright = sync_playwright().start()

    def launch() -> Browser:
        try:
            return playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            raise ServiceUnavailable(f"{executable} would not start: {exc}") from exc

    try:
        browser = start_or_fail("Chromium", launch)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def browser_page(chromium_browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context (no cookies shared between tests)."""
    context = chromium_browser.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@contextmanager
def local_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A page in its own context that may reach `base_url` only (anything else is aborted)."""
    context = browser.new_context(base_url=base_url)

    def local_only(route: Route) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    try:
        yield context.new_page()
    finally:
        context.close()
