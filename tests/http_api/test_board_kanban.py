"""The Kanban view: a column per status, cards that move live in every page, moved by drag
and drop or by keyboard, asking before overriding an agent's claim or a dependency."""

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.board import LIVE, Pages, kanban_card
from tests.support.servers import LiveServer


def column(page: Page, status: str) -> Any:
    return page.locator(f'#kanban .column[data-status="{status}"]')


def open_kanban(pages: Pages, project: dict[str, Any]) -> Page:
    return pages.open(path=f"/?project={project['id']}&view=kanban")


def test_a_drag_in_one_page_moves_the_card_in_the_other(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Write docs"}
    ).json()
    acting, watching = open_kanban(pages, project), open_kanban(pages, project)
    expect(column(watching, "pending").locator("h3 .n")).to_have_text("1")

    kanban_card(acting, "pending", "Write docs").drag_to(column(acting, "in_review"))
    expect(kanban_card(watching, "in_review", "Write docs")).to_be_visible(timeout=LIVE)
    expect(kanban_card(watching, "pending", "Write docs")).to_have_count(0)
    expect(column(watching, "in_review").locator("h3 .n")).to_have_text("1")
    assert server.http.get(f"/api/tasks/{task['id']}").json()["status"] == "in_review"

    # An agent's change moves the card in both pages.
    server.http.patch(f"/api/tasks/{task['id']}", json={"status": "completed"})
    for page in (acting, watching):
        expect(kanban_card(page, "completed", "Write docs")).to_be_visible(timeout=LIVE)


def test_a_card_moves_by_keyboard_in_one_change_and_keeps_the_focus(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Rate limits"}
    ).json()
    page = open_kanban(pages, project)
    card = kanban_card(page, "pending", "Rate limits").locator(".task-open")
    card.focus()
    # Shift + arrows pick the column, crossing "running" without passing through it.
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    expect(column(page, "in_review")).to_have_class(re.compile(r"\bmove-target\b"))
    expect(page.locator("#announcer")).to_contain_text("Move “Rate limits” to review")
    assert server.http.get(f"/api/tasks/{task['id']}").json()["version"] == task["version"]
    page.keyboard.press("Enter")
    moved = kanban_card(page, "in_review", "Rate limits").locator(".task-open")
    expect(moved).to_be_focused(timeout=LIVE)
    expect(page.locator("#announcer")).to_have_text("Moved “Rate limits” to review.")
    final = server.http.get(f"/api/tasks/{task['id']}").json()
    assert (final["status"], final["version"]) == ("in_review", task["version"] + 1)
    assert final["startedAt"] is None  # it never went through "running"

    # Escape drops a choice; Enter then opens the card's task.
    page.keyboard.press("Shift+ArrowLeft")
    expect(column(page, "in_progress")).to_have_class(re.compile(r"\bmove-target\b"))
    page.keyboard.press("Escape")
    expect(column(page, "in_progress")).not_to_have_class(re.compile(r"\bmove-target\b"))
    page.keyboard.press("Enter")
    expect(page.locator("#task-panel-title")).to_have_text("Rate limits")
    assert server.http.get(f"/api/tasks/{task['id']}").json()["status"] == "in_review"


def test_moving_a_claimed_card_asks_first(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "OAuth"}
    ).json()
    agent = server.http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "claude"}
    ).json()
    server.http.post(f"/api/tasks/{task['id']}/claim", json={"sessionId": agent["id"]})
    pages.expected_statuses.add(409)
    page = open_kanban(pages, project)
    card = kanban_card(page, "in_progress", "OAuth")
    expect(card.locator(".claim")).to_contain_text("claude")

    with page.expect_event("dialog") as asked:
        card.drag_to(column(page, "pending"))
    assert "“claude” has claimed this task" in asked.value.message
    asked.value.dismiss()  # no: nothing changes
    expect(kanban_card(page, "in_progress", "OAuth")).to_be_visible()
    assert server.http.get(f"/api/tasks/{task['id']}").json()["claim"] is not None

    with page.expect_event("dialog") as asked:
        kanban_card(page, "in_progress", "OAuth").drag_to(column(page, "pending"))
    asked.value.accept()
    expect(kanban_card(page, "pending", "OAuth")).to_be_visible(timeout=LIVE)
    final = server.http.get(f"/api/tasks/{task['id']}").json()
    assert (final["status"], final["claim"]) == ("pending", None)


def test_moving_a_waiting_card_into_work_asks_first(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    first = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "schema"}
    ).json()
    server.http.post(
        "/api/tasks",
        json={"projectId": project["id"], "title": "API", "dependsOn": [first["id"]]},
    )
    pages.expected_statuses.add(409)
    page = open_kanban(pages, project)
    expect(kanban_card(page, "pending", "API").locator(".waiting")).to_have_text("waits for 1")
    with page.expect_event("dialog") as asked:
        kanban_card(page, "pending", "API").drag_to(column(page, "in_progress"))
    assert "waits for “schema” to be completed" in asked.value.message
    asked.value.accept()
    expect(kanban_card(page, "in_progress", "API")).to_be_visible(timeout=LIVE)
