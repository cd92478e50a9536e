"""The URL holds the view: project, view, filters and the open task. A link opens the same
view in another page; the back button walks back through it."""

from typing import Any

from playwright.sync_api import Page, expect

from tests.support.board import LIVE, Pages, task_row
from tests.support.servers import LiveServer


def seed(server: LiveServer, project: dict[str, Any]) -> dict[str, Any]:
    def task(title: str, **fields: Any) -> dict[str, Any]:
        body = {"projectId": project["id"], "title": title, **fields}
        created: dict[str, Any] = server.http.post("/api/tasks", json=body).json()
        return created

    login = task("Login form", labels=["auth", "ui"], description="email and password")
    task("Token refresh", labels=["auth"])
    task("Invoice PDF", labels=["billing"])
    return login


def visible_titles(page: Page) -> list[str]:
    return sorted(page.locator("#task-list .task .title").all_inner_texts())


def test_filters_by_label_text_and_status_and_a_link_restores_them(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    login = seed(server, project)
    page = pages.open()
    filters = page.locator("#filters")
    filters.locator("select[name=label]").select_option("auth")
    expect(page.locator("#task-list .task")).to_have_count(2)
    filters.locator("input[name=q]").fill("PASSWORD")  # the description, any case
    expect(page.locator("#task-list .task")).to_have_count(1)
    assert visible_titles(page) == ["Login form"]
    expect(page.locator("#task-count")).to_have_text("1 of 3")
    task_row(page, "Login form").locator(".task-open").click()
    expect(page.locator("#task-panel")).to_be_visible()
    assert "label=auth" in page.url
    assert "q=PASSWORD" in page.url

    shared = pages.open(path=page.url.removeprefix(pages.server.base_url))
    expect(shared.locator("#task-panel-title")).to_have_text("Login form")
    shared.locator("#task-panel").get_by_role("button", name="Close the task").click()
    assert visible_titles(shared) == ["Login form"]
    expect(shared.locator("#filters select[name=label]")).to_have_value("auth")
    expect(shared.locator("#filters input[name=q]")).to_have_value("PASSWORD")

    # A task made elsewhere that matches the filters appears; one that does not, does not.
    server.http.post(
        "/api/tasks",
        json={"projectId": project["id"], "title": "Password reset", "labels": ["auth"]},
    )
    server.http.post("/api/tasks", json={"projectId": project["id"], "title": "Password tips"})
    expect(task_row(shared, "Password reset")).to_be_visible(timeout=LIVE)
    expect(task_row(shared, "Password tips")).to_have_count(0)

    shared.get_by_role("button", name="Clear").click()
    expect(shared.locator("#task-list .task")).to_have_count(5)
    assert login["id"] not in shared.url


def test_the_back_button_walks_back_through_views(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    other = server.http.post("/api/projects", json={"name": "Other"}).json()
    seed(server, project)
    page = pages.open(path=f"/?project={project['id']}")
    page.locator("#view-switch").get_by_role("button", name="Kanban").click()
    expect(page.locator("#kanban")).to_be_visible()
    page.locator("#project-select").select_option(other["id"])
    expect(page.locator("#kanban .card")).to_have_count(0)
    page.go_back()
    expect(page.locator("#kanban .card")).to_have_count(3)
    expect(page.locator("#project-select")).to_have_value(project["id"])
    page.go_back()
    expect(page.locator("#task-list")).to_be_visible()
    expect(page.locator("#kanban")).to_be_hidden()
    expect(page.locator("#view-switch [data-view=list]")).to_have_attribute("aria-pressed", "true")


def test_a_link_of_the_earlier_board_still_opens_its_project(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    other = server.http.post("/api/projects", json={"name": "Other"}).json()
    server.http.post("/api/tasks", json={"projectId": other["id"], "title": "over there"})
    page = pages.open(path=f"/#{other['id']}")
    expect(task_row(page, "over there")).to_be_visible()
    expect(page.locator("#project-select")).to_have_value(other["id"])
