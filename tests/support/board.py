"""The web board in Chromium, for the board's tests: pages that fail the test on any console
error, and the ways the tests reach the board's parts."""

import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import anyio
from playwright.sync_api import Browser, Page, expect

from tests.support.servers import LiveServer
from tests.support.waiting import WAIT

LIVE = 2000  # ms: how soon a change must show in an open page

# Notifications recorded instead of shown; the page as if in a tab in the background.
FAKE_NOTIFICATIONS = """
window.__notifications = [];
class RecordedNotification {
  static permission = "default";
  static requestPermission() {
    RecordedNotification.permission = "granted";
    return Promise.resolve("granted");
  }
  constructor(title, options) {
    window.__notifications.push({ title, body: options && options.body });
    document.documentElement.dataset.notifications = String(window.__notifications.length);
  }
}
Object.defineProperty(window, "Notification", { value: RecordedNotification, writable: true });
Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
"""


class Pages:
    """Opens board pages and fails the test on any console error or uncaught exception."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.errors: list[str] = []
        self.contexts: list[Any] = []
        self.expected_statuses: set[int] = set()
        self.expected_messages: list[str] = []

    def open(
        self,
        width: int = 1280,
        *,
        path: str = "/",
        color_scheme: Literal["light", "dark"] = "light",
        init_script: str | None = None,
        **context_options: Any,
    ) -> Page:
        """A page of its own browser context (its own storage: another person), live."""
        context = self.browser.new_context(
            viewport={"width": width, "height": 800}, color_scheme=color_scheme, **context_options
        )
        self.contexts.append(context)
        if init_script is not None:
            context.add_init_script(init_script)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(self.server.base_url + path)
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


def task_row(page: Page, title: str) -> Any:
    return page.locator("#task-list .task", has_text=title)


def edit_task(page: Page, title: str) -> Any:
    """Open a task's panel from the list and its edit form; returns the form."""
    task_row(page, title).locator(".task-open").click()
    panel = page.locator("#task-panel")
    expect(panel).to_be_visible()
    panel.get_by_role("button", name="Edit").click()
    form = panel.locator("#task-form")
    expect(form).to_be_visible()
    return form


def session_card(page: Page, name: str) -> Any:
    return page.locator("#session-list .session", has_text=name)


def activity_line(page: Page, text: str) -> Any:
    return page.locator("#activity-list .line", has_text=text)


def kanban_card(page: Page, status: str, title: str) -> Any:
    return page.locator(f'#kanban .column[data-status="{status}"] .card', has_text=title)


def run_agent(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run an async agent (an MCP client) to its end. Playwright's sync API owns this
    thread's event loop: the agent runs in a thread of its own."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(body)
        except BaseException as error:  # reported in the test's thread
            failures.append(error)

    agent = threading.Thread(target=run)
    agent.start()
    agent.join()
    if failures:
        raise failures[0]


@contextmanager
def agent_alongside(body: Callable[[], Coroutine[Any, Any, None]]) -> Iterator[None]:
    """Run an async agent (an MCP client) in a thread of its own while the test drives
    its pages in the ``with`` block; on leaving it, wait for the agent to end and raise
    what failed it. The agent bounds its own waits (anyio.fail_after)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(body)
        except BaseException as error:  # reported in the test's thread
            failures.append(error)

    agent = threading.Thread(target=run, daemon=True)
    agent.start()
    try:
        yield
    finally:
        agent.join(WAIT * 3)
    assert not agent.is_alive(), "the agent did not finish"
    if failures:
        raise failures[0]


def question_card(page: Page, text: str) -> Any:
    return page.locator("#question-list .question", has_text=text)


def thread_row(page: Page, subject: str) -> Any:
    return page.locator("#thread-list .thread-item", has_text=subject)


def start_session(
    server: LiveServer,
    project: dict[str, Any],
    name: str = "db work",
    agent: str | None = "codex",
    **fields: Any,
) -> dict[str, Any]:
    """A session of ``project`` started over REST (an agent's, by default codex's)."""
    body = {"projectId": project["id"], "name": name, "agent": agent} | fields
    response = server.http.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
