"""Deep chains of sub-tasks and of dependencies (issue #13, "Bounded resources").

Nothing recursive over parent links or dependencies may fail, or slow down more than in
proportion, with depth (docs/storage.md, guarantee 9): deleting a project or a task
whose sub-tasks nest ``DEPTH`` deep answers 200 with the events the contract promises
(docs/protocol.md's events table: deletions carry ``{id, projectId}``), the cycle checks
walk such chains, and the CLI and the board draw them. Before, SQLite nested one trigger
per level of a cascading delete and gave up at 1,000 (a 500), and PostgreSQL, planning
its walks from statistics that a fresh import does not have yet, scanned the whole table
at every level (39 s for 5,000 levels). The chains are loaded in bulk (``Store.load``,
as ``maestro import`` does), then everything goes through a real server, on both stores.
"""

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect, sync_playwright

from maestro_mcp.cli.main import cli
from maestro_mcp.core.events import EventType
from maestro_mcp.core.vocabulary import TREE_INDENT_LEVELS
from maestro_mcp.protocol import SEQ_HEADER
from tests.support.browser import launch_chromium
from tests.support.bulk import Bulk, serving
from tests.support.feeds import WsClient
from tests.support.servers import LiveServer
from tests.support.stores import Databases

DEPTH = 5_000
# The board's tree: deeper, as a browser's call stack holds about 10,000 calls.
BOARD_DEPTH = 20_000
BOARD_LOADS = 60_000  # ms: a page fetching and drawing BOARD_DEPTH tasks, on a busy machine
# How long the walks take as the depth grows is measured by the benchmark (bench/depth.py,
# docs/performance.md), never asserted here.


def seq_of(response: Any) -> int:
    assert response.status_code == 200, response.text
    return int(response.headers[SEQ_HEADER])


def replay_after(server: LiveServer, seq: int) -> list[dict[str, Any]]:
    """Every event after ``seq``, as a client resuming the live feed there gets them."""
    client = WsClient(f"{server.ws_url}?since={seq}")
    try:
        return client.until_ready()
    finally:
        client.close()


def deleted_ids(events: list[dict[str, Any]], project_id: str) -> list[str]:
    """The ids ``task:deleted`` events name, each checked to carry its project."""
    ids = []
    for event in events:
        assert event["event"] == EventType.TASK_DELETED, event
        assert event["data"]["projectId"] == project_id
        ids.append(event["data"]["id"])
    return ids


@pytest.fixture
def serve(databases: Databases, tmp_path: Path) -> Iterator[Callable[[Bulk], LiveServer]]:
    """Starts a real server on a new database holding a ``Bulk``'s rows."""
    numbers = itertools.count()
    with ExitStack() as stack:

        def start(bulk: Bulk) -> LiveServer:
            directory = tmp_path / f"db{next(numbers)}"
            directory.mkdir()
            return stack.enter_context(serving(bulk, databases, directory))

        yield start


# --- deletions ---------------------------------------------------------------------------------


def test_a_project_with_a_deep_chain_is_deleted(serve: Callable[[Bulk], LiveServer]) -> None:
    bulk = Bulk()
    project_id = bulk.project("Deep")
    chain = bulk.chain(project_id, DEPTH)
    session_id = bulk.session(project_id, "at the bottom")
    bulk.link(chain[-1], session_id)
    server = serve(bulk)
    before = seq_of(server.http.get(f"/api/projects/{project_id}"))

    deleted = server.http.delete(f"/api/projects/{project_id}")
    after = seq_of(deleted)
    assert deleted.json()["id"] == project_id
    [event] = replay_after(server, before)
    assert event["seq"] == after
    assert event["event"] == EventType.PROJECT_DELETED
    assert (event["data"]["id"], event["data"]["projectId"]) == (project_id, project_id)
    assert server.http.get(f"/api/projects/{project_id}").status_code == 404
    assert server.http.get(f"/api/tasks/{chain[-1]}").status_code == 404
    assert server.http.get(f"/api/sessions/{session_id}").status_code == 404


def test_a_task_with_a_deep_subtree_is_deleted(serve: Callable[[Bulk], LiveServer]) -> None:
    bulk = Bulk()
    project_id = bulk.project("Deep")
    above = bulk.task(project_id, "above")
    chain = bulk.chain(project_id, DEPTH, parent_id=above)
    waiting = bulk.task(project_id, "waits for the bottom")
    bulk.depend(waiting, chain[-1])
    session_id = bulk.session(project_id, "at the bottom")
    bulk.link(chain[-1], session_id)
    server = serve(bulk)
    before = seq_of(server.http.get(f"/api/tasks/{chain[0]}"))

    deleted = server.http.delete(f"/api/tasks/{chain[0]}")
    after = seq_of(deleted)
    assert deleted.json()["id"] == chain[0]
    session, dependent, *gone = replay_after(server, before)
    assert gone[-1]["seq"] == after
    assert session["event"] == EventType.SESSION_UPDATED
    assert session["data"]["taskIds"] == []
    assert dependent["event"] == EventType.TASK_UPDATED
    assert (dependent["data"]["id"], dependent["data"]["dependsOn"]) == (waiting, [])
    assert deleted_ids(gone, project_id) == chain[::-1]  # sub-tasks before their parent
    left = server.http.get("/api/tasks", params={"projectId": project_id}).json()
    assert [t["id"] for t in left] == [above, waiting]


# --- cycle checks --------------------------------------------------------------------------------


def test_cycle_checks_walk_deep_chains(serve: Callable[[Bulk], LiveServer]) -> None:
    bulk = Bulk()
    project_id = bulk.project("Deep")
    nested = bulk.chain(project_id, DEPTH, "nested")
    other = bulk.chain(project_id, DEPTH, "other")
    steps = bulk.steps(project_id, DEPTH)
    server = serve(bulk)
    http = server.http

    under_itself = http.patch(f"/api/tasks/{nested[0]}", json={"parentId": nested[-1]})
    assert under_itself.status_code == 422, under_itself.text
    assert under_itself.json()["error"]["details"]["field"] == "parentId"
    circle = http.patch(f"/api/tasks/{steps[0]}", json={"dependsOn": [steps[-1]]})
    assert circle.status_code == 422, circle.text
    assert circle.json()["error"]["details"]["field"] == "dependsOn"

    moved = http.patch(f"/api/tasks/{other[0]}", json={"parentId": nested[-1]})
    assert moved.status_code == 200, moved.text  # a chain twice as deep now
    back = http.patch(f"/api/tasks/{nested[0]}", json={"parentId": other[-1]})
    assert back.status_code == 422, back.text
    assert http.patch(f"/api/tasks/{steps[-1]}", json={"dependsOn": [steps[0]]}).status_code == 200


# --- the CLI and the board draw them -------------------------------------------------------------


def test_the_cli_draws_a_deep_chain(serve: Callable[[Bulk], LiveServer]) -> None:
    bulk = Bulk()
    project_id = bulk.project("Deep")
    chain = bulk.chain(project_id, DEPTH)
    server = serve(bulk)
    listed = CliRunner().invoke(
        cli, ["task", "list", "--project", project_id], env={"MAESTRO_URL": server.base_url}
    )
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.stdout.splitlines() if "level " in line]
    assert [row.split()[0] for row in rows] == chain
    assert f"└[{DEPTH - 1}] level {DEPTH - 1}" in rows[-1]
    # The indent stops growing: a row is as wide at any depth.
    assert rows[-1].index("└") == rows[TREE_INDENT_LEVELS].index("└")


@pytest.mark.only_store("sqlite")  # the board draws the same whatever the store
def test_the_board_draws_a_deep_chain(serve: Callable[[Bulk], LiveServer]) -> None:
    bulk = Bulk()
    project_id = bulk.project("Deep")
    chain = bulk.chain(project_id, BOARD_DEPTH)
    server = serve(bulk)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(server.base_url + "/")
            tasks = page.locator("#task-list .task")
            try:
                expect(tasks).to_have_count(BOARD_DEPTH, timeout=BOARD_LOADS)
            finally:
                assert errors == []  # (what the page said, if it never drew them)
            bottom = tasks.last
            assert bottom.get_attribute("data-id") == chain[-1]
            expect(bottom.locator(".level")).to_have_text(f"↳{BOARD_DEPTH - 1}")
            # The indent stops growing: the bottom is drawn as far in as the deepest indented.
            indent = "e => getComputedStyle(e).paddingLeft"
            assert bottom.evaluate(indent) == tasks.nth(TREE_INDENT_LEVELS).evaluate(indent)
            assert tasks.nth(TREE_INDENT_LEVELS).locator(".level").count() == 0
        finally:
            browser.close()
