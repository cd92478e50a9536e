"""The board as the window into what agents do: the activity feed, sessions' progress notes
live, and a session that needs a person drawing attention. Two pages, one acting and one
watching, against a real server; the agent is a real MCP client."""

import re
from typing import Any

from mcp import Client
from mcp.types import Implementation
from playwright.sync_api import expect

from tests.support.board import LIVE, Pages, activity_line, run_agent, session_card
from tests.support.servers import LiveServer


def agent_reports(server: LiveServer, session_id: str, **report: Any) -> None:
    async def report_over_mcp() -> None:
        async with Client(
            server.base_url + "/mcp", client_info=Implementation(name="codex", version="1")
        ) as client:
            result = await client.call_tool("update_session", {"sessionId": session_id, **report})
            assert not result.is_error, result

    run_agent(report_over_mcp)


def test_a_note_posted_over_mcp_streams_into_the_session_and_the_activity(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = server.http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "webhooks", "agent": "codex"}
    ).json()
    watching = pages.open()
    card = session_card(watching, "webhooks")
    card.locator(".expand").click()
    expect(card.locator(".session-body")).to_contain_text("No progress notes yet.")

    agent_reports(server, session["id"], note="tests pass, opening PR")
    expect(card.locator(".notes li", has_text="tests pass, opening PR")).to_be_visible(timeout=LIVE)
    line = activity_line(watching, "tests pass, opening PR")
    expect(line).to_be_visible(timeout=LIVE)
    expect(line.locator(".who")).to_have_text("codex:")  # the session's agent says it
    expect(line.locator(".actor")).to_have_text("local/codex")  # through whose token
    # A collapsed session shows its newest note.
    card.locator(".expand").click()
    expect(card.locator(".latest-note")).to_have_text("tests pass, opening PR")

    # The activity comes from the event log: it survives a reload.
    watching.reload()
    expect(activity_line(watching, "tests pass, opening PR")).to_be_visible()
    expect(activity_line(watching, "started session")).to_contain_text("webhooks")
    expect(session_card(watching, "webhooks").locator(".latest-note")).to_have_text(
        "tests pass, opening PR"
    )


def test_the_activity_reads_as_sentences_and_links_to_what_it_is_about(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    watching = pages.open()
    acting = pages.open()
    acting.locator("#new-task input[name=title]").fill("Fix webhook")
    acting.locator("#new-task button[type=submit]").click()
    expect(activity_line(watching, "created Fix webhook")).to_be_visible(timeout=LIVE)
    # In the page that made it, the change is "yours".
    expect(activity_line(acting, "created Fix webhook").locator(".who")).to_have_text("you")
    expect(activity_line(watching, "created Fix webhook").locator(".who")).to_have_text("you")

    [task] = server.http.get("/api/tasks", params={"projectId": project["id"]}).json()
    server.http.patch(f"/api/tasks/{task['id']}", json={"status": "in_review"})
    moved = activity_line(watching, "moved Fix webhook to review")
    expect(moved).to_be_visible(timeout=LIVE)
    expect(watching.locator("#activity-list .line").first).to_contain_text(
        "you moved Fix webhook to review"
    )
    time = moved.locator("time")
    expect(time).to_have_text(re.compile(r"^\d+ s ago$"))
    assert time.get_attribute("datetime")

    moved.get_by_role("link", name="Fix webhook").click()
    expect(watching.locator("#task-panel")).to_be_visible()
    expect(watching.locator("#task-panel-title")).to_have_text("Fix webhook")
    assert f"task={task['id']}" in watching.url


def test_the_activity_filters_by_session_and_by_agent(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    def start(name: str, agent: str) -> dict[str, Any]:
        body = {"projectId": project["id"], "name": name, "agent": agent}
        created: dict[str, Any] = server.http.post("/api/sessions", json=body).json()
        server.http.post(f"/api/sessions/{created['id']}/notes", json={"message": f"{name} note"})
        return created

    first = start("oauth", "claude-code")
    start("docs", "gemini")
    page = pages.open()
    expect(activity_line(page, "oauth note")).to_be_visible()
    expect(activity_line(page, "docs note")).to_be_visible()

    page.locator("#filters select[name=who]").select_option(label="oauth (claude-code)")
    expect(activity_line(page, "docs note")).to_have_count(0)
    expect(activity_line(page, "oauth note")).to_be_visible()
    expect(page.locator("#activity-scope")).to_have_text("of oauth")
    assert f"session={first['id']}" in page.url
    # Live lines follow the filter too.
    server.http.post(f"/api/sessions/{first['id']}/notes", json={"message": "oauth again"})
    expect(activity_line(page, "oauth again")).to_be_visible(timeout=LIVE)

    page.locator("#filters select[name=who]").select_option(label="agent gemini")
    expect(activity_line(page, "docs note")).to_be_visible()
    expect(activity_line(page, "oauth")).to_have_count(0)
    assert "agent=gemini" in page.url


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


def test_a_session_that_needs_input_draws_attention(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = server.http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "oauth", "agent": "claude-code"}
    ).json()
    page = pages.open(init_script=FAKE_NOTIFICATIONS)
    expect(page).to_have_title("Maestro · Web app")
    notify = page.get_by_role("button", name="Notify me")
    notify.click()  # the person allows desktop notifications
    expect(notify).to_be_hidden()

    agent_reports(server, session["id"], status="needs_input", note="Which OAuth provider?")
    expect(page).to_have_title("(1) Maestro · Web app", timeout=LIVE)
    card = session_card(page, "oauth")
    expect(card).to_have_class("session attention")
    expect(card.locator(".badge")).to_have_text("needs input")
    expect(page.locator("#attention")).to_have_text("oauth needs input")
    expect(activity_line(page, "oauth needs input")).to_be_visible()
    # (Awaited through the DOM: the page's CSP forbids Playwright's string predicates.)
    expect(page.locator("html")).to_have_attribute("data-notifications", "1")
    notifications = page.evaluate("window.__notifications")
    assert notifications == [{"title": "claude-code needs input", "body": "Which OAuth provider?"}]

    page.locator("#attention").click()  # opens the sessions waiting, to read and answer
    expect(card.locator(".notes li", has_text="Which OAuth provider?")).to_be_visible()
    card.locator(".session-status select").select_option("working")
    expect(page).to_have_title("Maestro · Web app", timeout=LIVE)
    expect(page.locator("#attention")).to_be_hidden()
    assert len(page.evaluate("window.__notifications")) == 1
