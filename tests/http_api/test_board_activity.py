"""The board as the window into what agents do: the activity feed, sessions' progress notes
live, and a session that needs a person drawing attention. Two pages, one acting and one
watching, against a real server; the agent is a real MCP client."""

import re
from typing import Any

from mcp import Client
from mcp.types import Implementation
from playwright.sync_api import Route, expect

from tests.support.board import (
    FAKE_NOTIFICATIONS,
    LIVE,
    Pages,
    activity_line,
    run_agent,
    session_card,
    start_session,
)
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
    session = start_session(server, project, "webhooks")
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
    # A board's change reads "yours" (it names itself: local/board, GET /api/me).
    expect(activity_line(acting, "created Fix webhook").locator(".who")).to_have_text("you")
    expect(activity_line(watching, "created Fix webhook").locator(".who")).to_have_text("you")

    [task] = server.http.get("/api/tasks", params={"projectId": project["id"]}).json()
    server.http.patch(f"/api/tasks/{task['id']}", json={"status": "in_review"})
    moved = activity_line(watching, "moved Fix webhook to review")
    expect(moved).to_be_visible(timeout=LIVE)
    # A change made elsewhere (curl: no client named) reads as its actor's.
    expect(watching.locator("#activity-list .line").first).to_contain_text(
        "local moved Fix webhook to review"
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
        created = start_session(server, project, name, agent)
        server.http.post(f"/api/sessions/{created['id']}/notes", json={"message": f"{name} note"})
        return created

    first = start("oauth", "claude-code")
    second = start("docs", "gemini")
    page = pages.open()
    expect(activity_line(page, "oauth note")).to_be_visible()
    expect(activity_line(page, "docs note")).to_be_visible()

    page.locator("#filters select[name=who]").select_option(label="oauth (claude-code)")
    # The filtered page is in (the list says which timeline it holds): then what it
    # left out is known to be left out.
    expect(page.locator("#activity-list")).to_have_attribute(
        "data-loaded", f"{project['id']}|{first['id']}|"
    )
    expect(activity_line(page, "oauth note")).to_be_visible()
    expect(activity_line(page, "docs note")).to_have_count(0)
    expect(page.locator("#activity-scope")).to_have_text("of oauth")
    assert f"session={first['id']}" in page.url
    # Live lines follow the filter too.
    server.http.post(f"/api/sessions/{first['id']}/notes", json={"message": "oauth again"})
    server.http.post(f"/api/sessions/{second['id']}/notes", json={"message": "docs again"})
    expect(activity_line(page, "oauth again")).to_be_visible(timeout=LIVE)

    page.locator("#filters select[name=who]").select_option(label="agent gemini")
    expect(page.locator("#activity-list")).to_have_attribute(
        "data-loaded", f"{project['id']}||gemini"
    )
    expect(activity_line(page, "docs again")).to_be_visible()
    expect(activity_line(page, "docs note")).to_be_visible()
    expect(activity_line(page, "oauth")).to_have_count(0)
    assert "agent=gemini" in page.url


def test_a_session_that_needs_input_draws_attention(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "oauth", "claude-code")
    page = pages.open(init_script=FAKE_NOTIFICATIONS)
    expect(page).to_have_title("Maestro · Web app")
    notify = page.get_by_role("button", name="Notify me")
    expect(notify).to_have_attribute("aria-pressed", "false")
    notify.click()  # the person allows desktop notifications
    expect(notify).to_have_attribute("aria-pressed", "true")
    # A tab in the background gets no animation frames: the title and the notification
    # must not wait for one.
    page.evaluate("window.requestAnimationFrame = () => 0")

    agent_reports(server, session["id"], status="needs_input", note="Which OAuth provider?")
    expect(page).to_have_title("(1) Maestro · Web app", timeout=LIVE)
    # (Awaited through the DOM: the page's CSP forbids Playwright's string predicates.)
    expect(page.locator("html")).to_have_attribute("data-notifications", "1")
    notifications = page.evaluate("window.__notifications")
    assert notifications == [{"title": "claude-code needs input", "body": "Which OAuth provider?"}]
    page.reload()  # frames again (and the board as a person coming back finds it)
    expect(page).to_have_title("(1) Maestro · Web app")
    card = session_card(page, "oauth")
    expect(card).to_have_class("session attention")
    expect(card.locator(".badge")).to_have_text("needs input")
    expect(page.locator("#attention")).to_have_text("oauth needs input")
    expect(activity_line(page, "oauth needs input")).to_be_visible()

    page.locator("#attention").click()  # opens the sessions waiting, to read and answer
    expect(card.locator(".notes li", has_text="Which OAuth provider?")).to_be_visible()
    card.locator(".session-status select").select_option("working")
    expect(page).to_have_title("Maestro · Web app", timeout=LIVE)
    expect(page.locator("#attention")).to_be_hidden()
    assert page.evaluate("window.__notifications") == []  # (a new page: none since)


def test_a_note_written_while_the_log_loads_is_kept(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """The open session's log is fetched while notes keep coming: one written after the
    fetch was read, and sent live before its answer arrives, is not lost."""
    session = start_session(server, project, "webhooks")
    server.http.post(f"/api/sessions/{session['id']}/notes", json={"message": "first"})
    page = pages.open()

    def answer_late(route: Route) -> None:
        fetched = route.fetch()  # the log as it is now: "first" only
        server.http.post(f"/api/sessions/{session['id']}/notes", json={"message": "meanwhile"})
        route.fulfill(response=fetched)

    page.route(f"**/api/sessions/{session['id']}/notes*", answer_late)
    card = session_card(page, "webhooks")
    card.locator(".expand").click()
    notes = card.locator(".notes li")
    # The click, the held fetch, a write and its answer: more than one change to show.
    expect(notes).to_have_count(2, timeout=2 * LIVE)
    expect(notes.nth(1)).to_contain_text("meanwhile")


NOTES_SHOWN = 50  # app.js: the notes a session's card fetches when it is opened


def test_an_open_log_past_the_notes_it_shows_leads_to_the_older_ones(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "chatty")
    with server.client() as http:
        for i in range(NOTES_SHOWN + 1):
            note = {"message": f"note {i:03}"}
            assert http.post(f"/api/sessions/{session['id']}/notes", json=note).status_code == 201
    page = pages.open()
    card = session_card(page, "chatty")
    card.locator(".expand").click()
    expect(card.locator(".notes li")).to_have_count(NOTES_SHOWN, timeout=LIVE)
    expect(card.locator(".notes li").first).to_contain_text("note 001")
    older = card.locator(".notes-state").get_by_role("link", name="Older notes")
    expect(older).to_have_text("Older notes may be in this session's activity")
    older.click()
    expect(page).to_have_url(re.compile(f"session={session['id']}"))
    filtered = f"{project['id']}|{session['id']}|"  # the session's timeline, its first page in
    expect(page.locator("#activity-list")).to_have_attribute("data-loaded", filtered)
    # The timeline pages back to the session's first note (a page of events shows fewer
    # lines: each note also renews the session's activity time).
    lines, more = page.locator("#activity-list .line"), page.locator("#activity-more button")
    for _ in range(NOTES_SHOWN):
        # No load out (the attribute is empty while one is), so no button means the end.
        expect(page.locator("#activity-list")).to_have_attribute("data-loaded", filtered)
        if activity_line(page, "note 000").count() or not more.count():
            break
        shown = lines.count()
        more.click()
        expect(lines).not_to_have_count(shown, timeout=LIVE)
    expect(activity_line(page, "note 000")).to_be_visible(timeout=LIVE)


NOTES_KEPT = 500  # store.js: the most notes an open session's card keeps


def test_a_log_written_past_what_the_card_keeps_leads_to_the_older_notes(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """Open all day: the card keeps the newest notes as they come, and once it has let
    older ones go it says where they are."""
    session = start_session(server, project, "all day")
    server.http.post(f"/api/sessions/{session['id']}/notes", json={"message": "note 000"})
    page = pages.open()
    card = session_card(page, "all day")
    card.locator(".expand").click()
    notes = card.locator(".notes li")
    expect(notes).to_have_count(1, timeout=LIVE)
    with server.client() as http:
        for i in range(1, NOTES_KEPT + 1):
            note = {"message": f"note {i:03}"}
            assert http.post(f"/api/sessions/{session['id']}/notes", json=note).status_code == 201
    expect(notes.last).to_contain_text(f"note {NOTES_KEPT:03}", timeout=LIVE)
    expect(notes).to_have_count(NOTES_KEPT)
    expect(notes.first).to_contain_text("note 001")
    expect(card.locator(".notes-state").get_by_role("link", name="Older notes")).to_be_visible()


def test_a_short_log_is_whole(pages: Pages, server: LiveServer, project: dict[str, Any]) -> None:
    session = start_session(server, project, "quiet")
    server.http.post(f"/api/sessions/{session['id']}/notes", json={"message": "only one"})
    page = pages.open()
    card = session_card(page, "quiet")
    card.locator(".expand").click()
    expect(card.locator(".notes li")).to_have_count(1, timeout=LIVE)
    expect(card.locator(".notes-state")).to_be_hidden()
    expect(card.locator(".notes")).not_to_have_attribute("tabindex", "0")  # nothing to scroll


def test_show_older_pages_back_past_the_lines_kept_live(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """A page open all day keeps the newest lines as they come; what it let go of, and
    what came before, is still a "Show older" away."""
    session = start_session(server, project, "chatty")
    page = pages.open()
    expect(page.locator("#activity-list")).to_have_attribute("data-loaded", re.compile("."))
    with server.client() as http:
        for i in range(320):
            http.post(f"/api/sessions/{session['id']}/notes", json={"message": f"note {i:03}"})
    expect(activity_line(page, "note 319")).to_be_visible(timeout=LIVE)
    lines = page.locator("#activity-list .line")
    expect(lines).to_have_count(300)  # the newest, kept live
    expect(activity_line(page, "note 019")).to_have_count(0)
    page.locator("#activity-more").get_by_role("button", name="Show older").click()
    expect(activity_line(page, "note 019")).to_be_visible()
    expect(lines).to_have_count(322)  # every note, the session's start, the project's
    expect(page.locator("#activity-more")).not_to_contain_text("Show older")


def test_a_history_of_lease_renewals_still_shows_what_happened(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """Renewals change a claimed task's lease a hundred times and say nothing: the panel
    reads past them to the lines that do."""
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Long job"}
    ).json()
    session = start_session(server, project, "worker")
    server.http.post(f"/api/tasks/{task['id']}/claim", json={"sessionId": session["id"]})
    with server.client() as http:
        for _ in range(120):
            http.post(f"/api/sessions/{session['id']}/heartbeat", json={})
    page = pages.open(path=f"/?project={project['id']}&task={task['id']}")
    history = page.locator("#task-panel .history .line")
    expect(history.filter(has_text="claimed Long job")).to_have_count(1)
    expect(history.filter(has_text="created Long job")).to_have_count(1)


def test_every_session_shows_its_newest_note_however_old(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """The newest note of each session comes with the snapshot, not from the activity's
    first page (which a busy project fills with other things)."""
    quiet = start_session(server, project, "quiet")
    server.http.post(f"/api/sessions/{quiet['id']}/notes", json={"message": "waiting on CI"})
    with server.client() as http:
        for i in range(60):
            http.post("/api/tasks", json={"projectId": project["id"], "title": f"busy {i}"})
    page = pages.open()
    expect(page.locator("#activity-list")).to_have_attribute("data-loaded", re.compile("."))
    expect(activity_line(page, "waiting on CI")).to_have_count(0)  # not in the first page
    expect(session_card(page, "quiet").locator(".latest-note")).to_have_text("waiting on CI")
