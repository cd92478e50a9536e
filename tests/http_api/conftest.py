from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright
from starlette.testclient import TestClient

from http_api import Settings
from tests.support.board import Pages
from tests.support.browser import launch_chromium
from tests.support.servers import LiveServer, in_process


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process (see ``in_process``), its lifespan running for the test."""
    with in_process(settings) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = launch_chromium(playwright)
    yield launched
    launched.close()


@pytest.fixture
def pages(browser: Browser, server: LiveServer) -> Iterator[Pages]:
    """Board pages of the test's server; any console error or uncaught exception in them
    fails the test."""
    opened = Pages(browser, server)
    yield opened
    opened.close()
    assert opened.errors == []
