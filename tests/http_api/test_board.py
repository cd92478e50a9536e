"""The web board in headless Chromium against a real server: live, in every tab, gap-free."""

import threading
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import anyio
import pytest
from click.testing import CliRunner
from mcp import Client
from mcp.types import Implementation
from playwright.sync_api import Browser, Page, WebSocket, WebSocketRoute, expect
from starlette.testclient import TestClient

from http_api import Settings
from http_api.board import CSP
from maestro_mcp.cli.main import cli
from tests.support.board import LIVE, Pages, edit_task, task_row
from tests.support.servers import LiveServer, live_server


def test_tasks_from_rest_cli_and_mcp_appear_at_once(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    page = pages.open()
    server.http.post("/api/tasks", json={"projectId": project["id"], "title": "from curl"})
    expect(task_row(page, "from curl")).to_be_visible(timeout=LIVE)
    # Who made each change shows on its task (the event's actor).
    expect(task_row(page, "from curl").locator(".actor")).to_have_text("local")

    result = CliRunner().invoke(
        cli,
        ["task", "create", "Test task from CLI", "--priority", "high"],
        env={"MAESTRO_URL": server.base_url},
    )
    assert result.exit_code == 0, result.output
    expect(task_row(page, "Test task from CLI")).to_be_visible(timeout=LIVE)
    expect(task_row(page, "Test task from CLI").locator(".priority")).to_have_text("high")

    async def agent_creates() -> None:
        async with Client(
            server.base_url + "/mcp", client_info=Implementation(name="claude-code", version="1")
        ) as client:
            await client.call_tool("create_tasks", {"tasks": [{"title": "from an agent"}]})

    # Playwright's sync API owns this thread's event loop: the agent runs in its own thread.
    agent = threading.Thread(target=anyio.run, args=(agent_creates,))
    agent.start()
    agent.join()
    expect(task_row(page, "from an agent")).to_be_visible(timeout=LIVE)
    expect(task_row(page, "from an agent").locator(".actor")).to_have_text("local/claude-code")
    expect(page.locator("#task-count")).to_have_text("3")


def test_two_pages_see_each_others_sessions(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    server.http.post("/api/tasks", json={"projectId": project["id"], "title": "shared task"})
    first, second = pages.open(), pages.open()

    form = first.locator("#new-session")
    form.locator("input[name=name]").fill("pairing")
    form.locator("input[name=agent]").fill("claude-code")
    form.locator("button[type=submit]").click()
    in_second = second.locator(".session", has_text="pairing")
    expect(in_second).to_be_visible(timeout=LIVE)
    expect(in_second.locator(".agent")).to_have_text("claude-code")

    in_first = first.locator(".session", has_text="pairing")
    in_first.locator(".expand").click()
    in_first.locator(".session-status select").select_option("working")
    expect(in_second.locator(".session-head .badge")).to_have_text("working", timeout=LIVE)
    in_first.locator(".add-task button").click()
    expect(in_second.locator(".count")).to_have_text("1 task", timeout=LIVE)
    expect(task_row(second, "shared task").locator(".session-badge")).to_have_text("[1x]")

    first.once("dialog", lambda dialog: dialog.accept())
    in_first.locator(".close").click()
    expect(in_second).to_have_count(0, timeout=LIVE)
    expect(task_row(second, "shared task").locator(".session-badge")).to_have_count(0)


def test_a_status_patch_updates_the_list_and_the_expanded_session(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Implement login"}
    ).json()
    server.http.post(
        "/api/sessions",
        json={"projectId": project["id"], "name": "agent run", "taskIds": [task["id"]]},
    )
    page = pages.open()
    session = page.locator(".session", has_text="agent run")
    session.locator(".expand").click()
    expect(session.locator(".session-tasks li", has_text="Implement login")).to_be_visible()

    server.http.patch(f"/api/tasks/{task['id']}", json={"status": "in_progress"})
    expect(task_row(page, "Implement login").locator(".badge")).to_have_text(
        "running", timeout=LIVE
    )
    in_session = session.locator(".session-tasks li", has_text="Implement login")
    expect(in_session.locator(".badge")).to_have_text("running", timeout=LIVE)


def test_a_link_made_elsewhere_keeps_the_text_the_page_holds(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """The task:updated of a link leaves the prompt out (docs/protocol.md): the page
    keeps its copy, without asking the server for it."""
    prompt, description = "Build the login form\n" * 500, "Email and password"
    task = server.http.post(
        "/api/tasks",
        json={
            "projectId": project["id"],
            "title": "Login",
            "prompt": prompt,
            "description": description,
        },
    ).json()
    session = server.http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "run"}
    ).json()
    page = pages.open()
    fetched: list[str] = []
    whole = f"/api/tasks/{task['id']}"
    page.on("request", lambda r: fetched.append(r.url) if r.url.endswith(whole) else None)

    server.http.post(f"/api/sessions/{session['id']}/tasks/{task['id']}")
    expect(task_row(page, "Login").locator(".session-badge")).to_have_text("[1x]", timeout=LIVE)

    dialog = edit_task(page, "Login")
    assert dialog.locator("textarea[name=prompt]").input_value() == prompt
    assert dialog.locator("[name=description]").input_value() == description
    assert fetched == []  # kept from the page's own copy
    dialog.locator("input[name=title]").fill("Login page")
    dialog.locator("[data-action=save]").click()
    expect(dialog).to_be_hidden()
    saved = server.http.get(f"/api/tasks/{task['id']}").json()
    assert (saved["title"], saved["prompt"], saved["description"]) == (
        "Login page",
        prompt,
        description,
    )


def test_a_task_whose_text_the_page_never_had_is_fetched_whole(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """An event that leaves text out, about a task the page holds no copy of (here: its
    snapshot came back without it), makes the page fetch that task whole."""
    prompt = "Refactor the session store"
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Refactor", "prompt": prompt}
    ).json()
    session = server.http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "run"}
    ).json()
    context = pages.browser.new_context()
    pages.contexts.append(context)
    page = context.new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    # The board's snapshot of the project's tasks arrives empty (its seq as sent).
    page.route(
        "**/api/tasks?projectId=*", lambda route: route.fulfill(response=route.fetch(), json=[])
    )
    page.goto(server.base_url + "/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#task-list .task")).to_have_count(0)
    with page.expect_request(f"**/api/tasks/{task['id']}"):
        server.http.post(f"/api/sessions/{session['id']}/tasks/{task['id']}")
    expect(task_row(page, "Refactor").locator(".session-badge")).to_have_text("[1x]", timeout=LIVE)
    expect(edit_task(page, "Refactor").locator("textarea[name=prompt]")).to_have_value(prompt)


class Cable:
    """The page's WebSocket, routed through the test: it can be cut and held down."""

    def __init__(self, page: Page) -> None:
        self.sockets: list[WebSocketRoute] = []
        self.down = False
        page.route_web_socket("**/ws*", self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        if not self.down:
            ws.connect_to_server()  # else: a socket that opens and never answers

    def cut(self) -> None:
        self.down = True
        self.sockets[-1].close()

    def restore(self) -> None:
        self.down = False
        self.sockets[-1].close()  # the page reconnects, now to the server


def open_with_cable(pages: Pages, server: LiveServer) -> tuple[Page, Cable, list[str]]:
    context = pages.browser.new_context()
    pages.contexts.append(context)
    page = context.new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    cable = Cable(page)
    page.goto(server.base_url + "/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.evaluate("window.__sameDocument = true")
    snapshots: list[str] = []
    page.on("request", lambda r: snapshots.append(r.url) if "/api/tasks" in r.url else None)
    return page, cable, snapshots


def test_a_page_that_lost_its_connection_catches_up_without_reloading(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    page, cable, snapshots = open_with_cable(pages, server)
    cable.cut()
    expect(page.locator("#connection")).not_to_have_attribute("data-state", "live")
    with server.client() as http:
        for i in range(50):
            http.post("/api/tasks", json={"projectId": project["id"], "title": f"change {i:02}"})
    expect(page.locator("#task-list .task")).to_have_count(0)

    attempts = len(cable.sockets)
    cable.restore()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)
    assert len(cable.sockets) > attempts
    expect(page.locator("#task-list .task")).to_have_count(50)
    expect(task_row(page, "change 49")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert snapshots == []  # and no refetch: the feed replayed what was missed
    assert "since=" in cable.sockets[-1].url


def test_a_page_whose_seq_expired_refetches_once(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    page, cable, snapshots = open_with_cable(pages, server)
    cable.cut()
    with server.client() as http:
        for i in range(5):
            http.post("/api/tasks", json={"projectId": project["id"], "title": f"gone {i}"})
    server.core.service.prune(keep_events=1)  # what the page missed is no longer retained
    cable.restore()
    expect(page.locator("#task-list .task")).to_have_count(5, timeout=10_000)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert page.evaluate("window.__sameDocument") is True
    assert len(snapshots) == 1  # sync:reset: one refetch, then live again


def test_a_stale_edit_gets_the_conflict_message(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Write docs"}
    ).json()
    pages.expected_statuses.add(412)
    page = pages.open()
    dialog = edit_task(page, "Write docs")

    # Meanwhile, someone else changes the task.
    server.http.patch(f"/api/tasks/{task['id']}", json={"title": "Write the API docs"})
    expect(task_row(page, "Write the API docs")).to_be_visible(timeout=LIVE)

    dialog.locator("select[name=status]").select_option("completed")
    dialog.locator("[data-action=save]").click()
    conflict = dialog.locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Someone else changed this task")
    expect(conflict).to_contain_text("Write the API docs")
    assert server.http.get(f"/api/tasks/{task['id']}").json()["status"] == "pending"

    dialog.locator("[data-action=save]").click()  # saving again applies only the user's change
    expect(dialog).to_be_hidden()
    expect(task_row(page, "Write the API docs").locator(".badge")).to_have_text("done")
    final = server.http.get(f"/api/tasks/{task['id']}").json()
    assert (final["title"], final["status"]) == ("Write the API docs", "completed")


def test_keyboard_and_phone_width(pages: Pages, project: dict[str, Any]) -> None:
    page = pages.open(width=390)
    page.keyboard.press("n")
    page.keyboard.type("typed on a phone")
    page.keyboard.press("Enter")
    expect(task_row(page, "typed on a phone")).to_be_visible(timeout=LIVE)
    overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0


def test_claims_show_live_and_go_when_released(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    first = server.http.post("/api/tasks", json={"projectId": project["id"], "title": "schema"})
    task = first.json()
    server.http.post(
        "/api/tasks",
        json={"projectId": project["id"], "title": "api", "dependsOn": [task["id"]]},
    )
    agent = server.http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "claude"}
    ).json()
    page = pages.open()
    expect(task_row(page, "api").locator(".waiting")).to_have_text("waits for 1")

    grant = server.http.post(
        f"/api/tasks/{task['id']}/claim", json={"sessionId": agent["id"], "leaseSeconds": 60}
    ).json()
    claim = task_row(page, "schema").locator(".claim")
    expect(claim).to_contain_text("⚑ claude · until", timeout=LIVE)
    expect(task_row(page, "schema").locator(".badge")).to_have_text("running")

    server.http.patch(
        f"/api/tasks/{task['id']}",
        json={"status": "completed"},
        headers={"X-Claim-Token": grant["claimToken"]},
    )
    expect(claim).to_have_count(0, timeout=LIVE)
    expect(task_row(page, "api").locator(".waiting")).to_have_count(0)


def save_accepting_the_question(page: Page, dialog: Any) -> list[str]:
    """Save the task form, say yes to the question the board asks, and return it."""
    questions: list[str] = []

    def answer(prompt: Any) -> None:
        questions.append(prompt.message)
        prompt.accept()

    page.once("dialog", answer)
    dialog.locator("[data-action=save]").click()
    expect(dialog).to_be_hidden()
    return questions


def test_a_human_overrides_a_claim_only_after_confirming(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post("/api/tasks", json={"projectId": project["id"], "title": "t"}).json()
    agent = server.http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "bot"}
    ).json()
    server.http.post(f"/api/tasks/{task['id']}/claim", json={"sessionId": agent["id"]})
    pages.expected_statuses.add(409)
    page = pages.open()
    dialog = edit_task(page, "t")
    expect(page.locator("#task-panel .claim-fact")).to_contain_text("bot holds it")
    dialog.locator("select[name=status]").select_option("cancelled")
    questions = save_accepting_the_question(page, dialog)
    assert "“bot” has claimed this task" in questions[0]
    final = server.http.get(f"/api/tasks/{task['id']}").json()
    assert final["status"] == "cancelled"
    assert final["claim"] is None


def test_a_person_starts_a_waiting_task_only_after_confirming(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    first = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "schema first"}
    ).json()
    server.http.post(
        "/api/tasks",
        json={"projectId": project["id"], "title": "then the API", "dependsOn": [first["id"]]},
    )
    pages.expected_statuses.add(409)
    page = pages.open()
    dialog = edit_task(page, "then the API")
    dialog.locator("select[name=status]").select_option("in_progress")
    questions = save_accepting_the_question(page, dialog)
    assert "waits for “schema first” to be completed" in questions[0]
    [waiting] = server.http.get(
        "/api/tasks", params={"projectId": project["id"], "blocked": "true"}
    ).json()
    assert waiting["status"] == "in_progress"


def test_a_token_protected_server_asks_for_its_token(browser: Browser, settings: Settings) -> None:
    token = "board-s3cret"
    with live_server(replace(settings, token=token)) as server:
        pages = Pages(browser, server)
        # Each refusal: first loads, the wrong token, the revoked one (REST and feed).
        pages.expected_statuses = {401}
        pages.expected_messages = ["HTTP Authentication failed"]  # the refused handshake
        context = browser.new_context()
        pages.contexts.append(context)

        def open_page() -> tuple[Page, Cable, list[WebSocket]]:
            page = context.new_page()
            page.on("console", pages._console)
            page.on("pageerror", lambda e: pages.errors.append(str(e)))
            cable = Cable(page)
            feeds: list[WebSocket] = []  # the page's feed sockets, as it opened them
            # (A lambda: Playwright calls Python functions, not built-in methods.)
            page.on("websocket", lambda feed: feeds.append(feed))
            page.goto(server.base_url + "/")
            return page, cable, feeds

        def enter(page: Page, value: str, remember: bool = False) -> None:
            dialog = page.locator("#token-dialog")
            dialog.locator("input[name=token]").fill(value)
            dialog.locator("input[name=remember]").set_checked(remember)
            dialog.get_by_role("button", name="Open the board").click()

        page, cable, page_feeds = open_page()
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        expect(dialog).to_be_visible()  # there is nothing to show without it
        enter(page, "wrong")
        expect(dialog.locator(".conflict")).to_contain_text("not accepted")
        enter(page, token)
        expect(dialog).to_be_hidden()
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        assert page.evaluate("sessionStorage.getItem('maestro.token')") == token
        assert page.evaluate("localStorage.getItem('maestro.token')") is None

        # A second tab remembers the token for the browser.
        other, _, other_feeds = open_page()
        enter(other, token, remember=True)
        expect(other.locator("#connection")).to_have_attribute("data-state", "live")
        assert other.evaluate("localStorage.getItem('maestro.token')") == token

        # The first tab's token stops working (as when the server restarts with a new
        # one): its feed's next handshake is refused, and the board asks again, without
        # forgetting the token the other tab remembered. The first tab comes to the front:
        # typing into a tab behind waits on animation frames it is not given.
        page.bring_to_front()
        page.evaluate("sessionStorage.setItem('maestro.token', 'revoked')")
        cable.sockets[-1].close()
        expect(dialog).to_be_visible()
        expect(dialog.locator(".conflict")).to_contain_text("again")
        assert page.evaluate("localStorage.getItem('maestro.token')") == token
        enter(page, token)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")

        authorized = {"Authorization": f"Bearer {token}"}
        project = server.http.post("/api/projects", json={"name": "secured"}, headers=authorized)

        def arrives(feed: WebSocket) -> AbstractContextManager[object]:
            return feed.expect_event(
                "framereceived",
                lambda payload: "seen through the token" in str(payload),
                timeout=LIVE,
            )

        # Both tabs' feeds bring the new task within LIVE.
        with arrives(page_feeds[-1]), arrives(other_feeds[-1]):
            server.http.post(
                "/api/tasks",
                json={"projectId": project.json()["id"], "title": "seen through the token"},
                headers=authorized,
            )
        for shown in (page, other):
            # Two tabs of one window: Chromium draws frames (the board renders in them) for
            # the tab in front only, as a person looks at one tab at a time; the one behind
            # drew its next frame a second or more later.
            shown.bring_to_front()
            expect(task_row(shown, "seen through the token")).to_be_visible(timeout=LIVE)
        pages.close()
        assert pages.errors == []


@pytest.mark.parametrize("path", ["/", "/assets/index.html", "/assets/app.js", "/assets/board.css"])
def test_every_file_of_the_board_has_its_security_headers(client: TestClient, path: str) -> None:
    """Its index.html under /assets too: served there without them, a page of another
    site could frame it."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_a_project_made_on_the_board_opens_and_reaches_the_other_pages(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    first, second = pages.open(), pages.open()
    first.locator("#new-project").click()
    dialog = first.locator("#project-dialog")
    dialog.locator("input[name=name]").fill("Mobile app")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    [made] = [p for p in server.http.get("/api/projects").json() if p["name"] == "Mobile app"]
    expect(first.locator("#project-select")).to_have_value(made["id"])
    assert f"project={made['id']}" in first.url
    expect(first.locator("#task-empty")).to_be_visible()
    expect(second.locator("#project-select option", has_text="Mobile app")).to_have_count(
        1, timeout=LIVE
    )
    expect(second.locator("#project-select")).to_have_value(project["id"])  # its own view stays
