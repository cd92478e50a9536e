"""Fixtures of the HTTP face's tests: the app in-process, and Chromium for the board's."""

from collections.abc import Iterator
from typing import Any

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


# Playwright's sync API runs its own event loop: one per test module, in modules of
# synchronous tests only.
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
    opened = Pages(browser, server)
    yield opened
    opened.close()
    assert opened.errors == []


@pytest.fixture
def project(server: LiveServer) -> dict[str, Any]:
    created: dict[str, Any] = server.http.post("/api/projects", json={"name": "Web app"}).json()
    return created
