"""A task's whole story in its panel: its text as safe Markdown, where it sits among the
other tasks, its claim, its sessions and its history from the event log, live."""

from typing import Any

from click.testing import CliRunner
from playwright.sync_api import expect

from maestro_mcp.cli.main import cli
from tests.support.board import LIVE, Pages, task_row
from tests.support.servers import LiveServer

# What an agent (or anyone with a token) might put in a task's text to take over the page
# of every person who opens it.
HOSTILE = """# Plan

<script>window.__pwned = "script"</script>
<img src=x onerror="window.__pwned = 'img'">
<svg onload="window.__pwned = 'svg'"></svg>
[click me](javascript:window.__pwned='link')
[click me too](JaVaScRiPt:window.__pwned='case')
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
![pixel](https://attacker.example/pixel.png)
<a href="https://example.com" onclick="window.__pwned='a'">raw link</a>
[quote](https://example.com/"onmouseover="window.__pwned='attr')

**Use PKCE** and read [the RFC](https://www.rfc-editor.org/rfc/rfc7636).

```js
window.__pwned = "code";
```
"""


def test_a_tasks_text_is_markdown_and_cannot_inject_anything(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks",
        json={"projectId": project["id"], "title": "<b>OAuth</b>", "description": HOSTILE},
    ).json()
    page = pages.open(path=f"/?project={project['id']}&task={task['id']}")
    panel = page.locator("#task-panel")
    expect(panel).to_be_visible()
    expect(page.locator("#task-panel-title")).to_have_text("<b>OAuth</b>")  # text, not markup
    markdown = panel.locator(".markdown").first
    expect(markdown.locator("h3")).to_have_text("Plan")  # headings sit below the page's
    expect(markdown.locator("strong")).to_have_text("Use PKCE")
    expect(markdown.locator("pre code")).to_have_text('window.__pwned = "code";')
    rfc = markdown.get_by_role("link", name="the RFC")
    expect(rfc).to_have_attribute("href", "https://www.rfc-editor.org/rfc/rfc7636")
    expect(rfc).to_have_attribute("rel", "noopener noreferrer nofollow")

    found = markdown.evaluate(
        """(root) => ({
          elements: [...root.querySelectorAll("*")].map((e) => e.localName),
          handlers: [...root.querySelectorAll("*")].flatMap((e) => [...e.attributes]
            .map((a) => a.name).filter((n) => n.startsWith("on") || n === "style")),
          hrefs: [...root.querySelectorAll("[href]")].map((e) => e.getAttribute("href")),
        })"""
    )
    assert not {"script", "img", "svg", "iframe", "object", "embed"} & set(found["elements"])
    assert found["handlers"] == []
    assert all(href.startswith(("https:", "http:", "mailto:")) for href in found["hrefs"])
    for link in markdown.locator("a").all():
        link.hover()
        link.click(modifiers=["Control"])  # a new tab: whatever it is, it is not a script here
    assert page.evaluate("window.__pwned") is None


def test_the_history_shows_a_change_made_by_the_cli_with_its_actor(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Fix webhook"}
    ).json()
    page = pages.open()
    task_row(page, "Fix webhook").locator(".task-open").click()
    history = page.locator("#task-panel .history")
    expect(history.locator(".line")).to_have_count(1)
    expect(history.locator(".line").first).to_contain_text("created Fix webhook")

    result = CliRunner().invoke(
        cli,
        ["task", "update", task["id"], "--status", "in_review"],
        env={"MAESTRO_URL": server.base_url},
    )
    assert result.exit_code == 0, result.output
    newest = history.locator(".line").first
    expect(newest).to_contain_text("moved Fix webhook to review", timeout=LIVE)
    # The CLI names itself: its change is not this page's ("you"), whatever the page sends.
    expect(newest.locator(".who")).to_have_text("local/cli")
    expect(page.locator("#task-panel .facts")).to_contain_text("review")

    # From the event log, not from memory: a fresh page shows the same story.
    other = pages.open(path=f"/?project={project['id']}&task={task['id']}")
    lines = other.locator("#task-panel .history .line")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("moved Fix webhook to review")


def test_the_history_pages_back_through_a_long_story(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post("/api/tasks", json={"projectId": project["id"], "title": "t"}).json()
    with server.client() as http:
        for i in range(59):
            http.patch(f"/api/tasks/{task['id']}", json={"title": f"t{i:02}"})
    page = pages.open(path=f"/?project={project['id']}&task={task['id']}")
    lines = page.locator("#task-panel .history .line")
    expect(lines).to_have_count(50)
    page.locator("#task-panel").get_by_role("button", name="Show older").click()
    expect(lines).to_have_count(60)
    expect(lines.last).to_contain_text("created")
    expect(page.locator("#task-panel .more")).to_contain_text("whole history")


def test_dependencies_and_dependents_are_links_and_the_back_button_returns(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    schema = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Schema", "labels": ["db"]}
    ).json()
    api = server.http.post(
        "/api/tasks",
        json={"projectId": project["id"], "title": "API", "dependsOn": [schema["id"]]},
    ).json()
    session = server.http.post(
        "/api/sessions",
        json={"projectId": project["id"], "name": "backend", "taskIds": [api["id"]]},
    ).json()
    page = pages.open(path=f"/?project={project['id']}&task={api['id']}")
    panel = page.locator("#task-panel")
    expect(panel.locator(".relations")).to_contain_text("Sessions")
    expect(panel.get_by_role("link", name="backend")).to_be_visible()
    panel.get_by_role("link", name="Schema").click()
    expect(page.locator("#task-panel-title")).to_have_text("Schema")
    expect(panel.locator(".facts .label-chip")).to_have_text("db")
    expect(panel.get_by_role("link", name="API")).to_be_visible()  # needed by
    page.go_back()
    expect(page.locator("#task-panel-title")).to_have_text("API")
    page.go_back()
    expect(panel).to_be_hidden()
    assert "task=" not in page.url
    page.go_forward()
    expect(page.locator("#task-panel-title")).to_have_text("API")
    # A session link filters the board by that session.
    panel.get_by_role("link", name="backend").click()
    expect(panel).to_be_hidden()
    assert f"session={session['id']}" in page.url
    expect(page.locator("#task-list .task")).to_have_count(1)


def test_editing_in_the_panel_saves_and_shows_the_new_markdown(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Docs", "description": "old"}
    ).json()
    page = pages.open(path=f"/?project={project['id']}&task={task['id']}")
    panel = page.locator("#task-panel")
    panel.get_by_role("button", name="Edit").click()
    form = panel.locator("#task-form")
    form.locator("textarea[name=description]").fill("Now with **bold**")
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()
    expect(panel.locator(".markdown strong")).to_have_text("bold")
    assert server.http.get(f"/api/tasks/{task['id']}").json()["description"] == "Now with **bold**"
