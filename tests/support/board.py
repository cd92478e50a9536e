"""The web board in headless Chromium: pages of a live server that fail the test on any
console error or uncaught exception (tests/http_api/conftest.py's ``pages`` fixture)."""

from typing import Any

from playwright.sync_api import Browser, Page, expect

from .servers import LiveServer


class Pages:
    """Opens board pages and fails the test on any console error or uncaught exception."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.errors: list[str] = []
        self.contexts: list[Any] = []
        self.expected_statuses: set[int] = set()
        self.expected_messages: list[str] = []

    def open(self, width: int = 1280) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": 800})
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(self.server.base_url + "/")
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        return page

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx answer as a console error; a test names those it causes.
        expected = any(
            f"status of {status} " in message.text for status in self.expected_statuses
        ) or any(text in message.text for text in self.expected_messages)
        if message.type == "error" and not expected:
            self.errors.append(message.text)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
