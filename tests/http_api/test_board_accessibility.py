"""Each view of the web board passes axe-core's WCAG 2 A/AA rules with no serious or
critical violation (tests/support/axe.py), and the check fails where it must.

What the board shows does not depend on the store behind the server: these run on
SQLite only."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, Page, expect

from http_api import Settings
from tests.support.axe import assert_accessible, violations
from tests.support.board import Pages
from tests.support.servers import LiveServer, live_server

pytestmark = pytest.mark.only_store("sqlite")


@pytest.fixture
def blank_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_the_check_reports_serious_violations_and_where_they_are(blank_page: Page) -> None:
    blank_page.set_content(
        "<!doctype html><html lang='en'><head><title>broken</title></head><body><main>"
        "<img src='data:,' class='photo'><button id='nameless'></button>"
        "<p id='fine'>Nothing wrong here.</p></main></body></html>"
    )
    with pytest.raises(AssertionError) as failure:
        assert_accessible(blank_page)
    shown = str(failure.value)
    assert "- image-alt (critical): Images must have alternative text" in shown
    assert "- button-name (critical): Buttons must have discernible text" in shown
    # Each offending node: its selector, its HTML, and what would fix it.
    assert '    img    <img src="data:," class="photo">' in shown
    assert '    #nameless    <button id="nameless"></button>' in shown
    assert "aria-label attribute does not exist or is empty" in shown
    # Only what `include` selects is checked.
    assert_accessible(blank_page, include="#fine")


def test_the_check_lets_lesser_findings_pass(blank_page: Page) -> None:
    """A violation of lesser impact is axe's to report, not the check's to fail on: a page
    that forbids zooming (WCAG AA, impact moderate)."""
    blank_page.set_content(
        "<!doctype html><html lang='en'><head><title>no zoom</title>"
        "<meta name='viewport' content='width=device-width, user-scalable=no'></head>"
        "<body><main><p>Small print.</p></main></body></html>"
    )
    found = violations(blank_page)
    assert [(v["id"], v["impact"]) for v in found] == [("meta-viewport", "moderate")]
    assert_accessible(blank_page)


# --- the board's views ------------------------------------------------------------------------


def make_work(server: LiveServer) -> None:
    """A project with what the board shows: tasks of each kind, sessions with tasks, an
    agent's question, files held, a thread of messages."""
    project = server.http.post("/api/projects", json={"name": "Web app"}).json()

    def task(title: str, **fields: Any) -> dict[str, Any]:
        body = {"projectId": project["id"], "title": title, **fields}
        created: dict[str, Any] = server.http.post("/api/tasks", json=body).json()
        return created

    schema = task(
        "Design the schema",
        priority="high",
        description="**Tables** for users and sessions; see <https://example.com/spec>.",
        prompt="Write the migration.",
    )
    task("Build the API", priority="urgent", dependsOn=[schema["id"]])
    task("Write the docs", status="in_review", priority="low")
    task("Old spike", status="cancelled")
    done = task("Set up CI", status="completed")
    task("Add a badge", parentId=done["id"])
    agent = server.http.post(
        "/api/sessions",
        json={
            "projectId": project["id"],
            "name": "schema work",
            "agent": "claude-code",
            "taskIds": [schema["id"]],
        },
    ).json()
    server.http.post(f"/api/tasks/{schema['id']}/claim", json={"sessionId": agent["id"]})
    server.http.post(f"/api/sessions/{agent['id']}/notes", json={"message": "migration written"})
    for name, status in (("review", "needs_input"), ("refactor", "working"), ("old", "failed")):
        session = server.http.post(
            "/api/sessions", json={"projectId": project["id"], "name": name}
        ).json()
        server.http.patch(f"/api/sessions/{session['id']}", json={"status": status})
    server.http.post(
        f"/api/sessions/{agent['id']}/reservations", json={"paths": ["db/migrations/**"]}
    )
    server.http.post(
        f"/api/sessions/{agent['id']}/reservations", json={"paths": ["docs/db.md"], "shared": True}
    )
    server.http.post(
        f"/api/sessions/{agent['id']}/questions",
        json={
            "text": "Drop the **legacy** table?",
            "choices": ["drop it", "keep it"],
            "allowText": True,
            "taskId": schema["id"],
            "timeoutSeconds": 3600,
            "default": "keep it",
        },
    )
    first = server.http.post(
        "/api/messages",
        json={
            "fromSessionId": agent["id"],
            "to": ["humans"],
            "subject": "Schema ready",
            "body": "Tables are in `db/schema.sql`; see <https://example.com/spec>.",
        },
    ).json()
    server.http.post(
        "/api/messages",
        json={"projectId": project["id"], "replyTo": first["id"], "body": "Thanks, **merging**."},
    )


def list_view(page: Page) -> None:
    expect(page.locator("#task-list .task")).to_have_count(6)
    expect(page.locator("#session-list .session")).to_have_count(4)
    expect(page.locator("#activity-list .line").first).to_be_visible()
    expect(page.locator("#question-list .question")).to_have_count(1)
    expect(page.locator("#file-list .file")).to_have_count(2)


def kanban_view(page: Page) -> None:
    page.locator("#view-switch").get_by_role("button", name="Kanban").click()
    expect(page.locator("#kanban .card")).to_have_count(6)


def filtered_view(page: Page) -> None:
    page.locator("#filters input[name=q]").fill("schema")
    page.locator("#filters select[name=who]").select_option(label="schema work (claude-code)")
    expect(page.locator("#task-list .task")).to_have_count(1)


def expanded_session(page: Page) -> None:
    session = page.locator(".session", has_text="schema work")
    session.locator(".expand").click()
    expect(session.locator(".session-tasks li")).to_have_count(1)
    expect(session.locator(".notes li")).to_have_count(1)


def task_panel(page: Page) -> None:
    page.locator("#task-list .task", has_text="Design the schema").locator(".task-open").click()
    expect(page.locator("#task-panel .history .line").first).to_be_visible()
    expect(page.locator("#task-panel .markdown strong")).to_have_text("Tables")


def task_form(page: Page) -> None:
    task_panel(page)
    page.locator("#task-panel").get_by_role("button", name="Edit").click()
    expect(page.locator("#task-form")).to_be_visible()


def messages_view(page: Page) -> None:
    page.locator("#view-switch").get_by_role("button", name="Messages").click()
    expect(page.locator("#thread-list .thread-item")).to_have_count(1)
    expect(page.locator("#thread-list .unread-badge")).to_have_text("1 unread")


def thread_view(page: Page) -> None:
    messages_view(page)
    page.locator("#thread-list .thread-open").click()
    expect(page.locator("#thread .message")).to_have_count(2)
    expect(page.locator("#unread")).to_be_hidden()  # read, now


def new_message(page: Page) -> None:
    messages_view(page)
    page.get_by_role("button", name="New message").click()
    expect(page.locator("#recipient-choices input")).to_have_count(6)  # not "old"


def project_dialog(page: Page) -> None:
    page.locator("#new-project").click()
    expect(page.locator("#project-dialog")).to_be_visible()


VIEWS: dict[str, Callable[[Page], None]] = {
    "list": list_view,
    "kanban": kanban_view,
    "filtered": filtered_view,
    "expanded session": expanded_session,
    "task panel": task_panel,
    "task form": task_form,
    "messages": messages_view,
    "thread": thread_view,
    "new message": new_message,
    "project dialog": project_dialog,
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_each_view_of_a_project_at_work(
    pages: Pages, server: LiveServer, view: str, scheme: Literal["light", "dark"]
) -> None:
    make_work(server)
    page = pages.open(color_scheme=scheme)
    VIEWS[view](page)
    assert_accessible(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_session_log_longer_than_its_box(
    pages: Pages, server: LiveServer, scheme: Literal["light", "dark"]
) -> None:
    """It scrolls (the keyboard reaches it), and past the notes it shows it links to the
    session's activity."""
    make_work(server)
    [agent] = [s for s in server.http.get("/api/sessions").json() if s["name"] == "schema work"]
    with server.client() as http:
        for n in range(50):  # the card fetches the newest 50 (app.js NOTES_SHOWN)
            note = {"message": f"step {n} of the migration, with its details"}
            assert http.post(f"/api/sessions/{agent['id']}/notes", json=note).status_code == 201
    page = pages.open(color_scheme=scheme)
    session = page.locator(".session", has_text="schema work")
    session.locator(".expand").click()
    expect(session.locator(".notes li")).to_have_count(50)
    expect(session.locator(".notes-state a")).to_be_visible()
    expect(session.locator(".notes")).to_have_attribute("tabindex", "0")  # it scrolls
    assert_accessible(page)


def test_the_first_view_without_a_project(pages: Pages) -> None:
    page = pages.open()
    expect(page.locator("#welcome")).to_be_visible()
    assert_accessible(page)


def test_the_token_dialog(browser: Browser, settings: Settings) -> None:
    with live_server(replace(settings, token="a11y-s3cret")) as server:
        pages = Pages(browser, server)
        pages.expected_statuses = {401}  # the board's first, token-less requests
        context = browser.new_context()
        pages.contexts.append(context)
        page = context.new_page()
        page.on("console", pages._console)
        page.on("pageerror", lambda e: pages.errors.append(str(e)))
        page.goto(server.base_url + "/")
        expect(page.locator("#token-dialog")).to_be_visible()
        try:
            assert_accessible(page)
        finally:
            pages.close()
        assert pages.errors == []
