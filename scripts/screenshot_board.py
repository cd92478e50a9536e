"""Render the board's screenshots in docs/: the web board with realistic data, in headless
Chromium (Debian's, as the tests use).

.venv/bin/python scripts/screenshot_board.py [out-dir]

    board.png           an agent's question at the top, the list, sessions (with the files
                        they hold), the files held and the activity feed
    board-kanban.png    the Kanban view
    board-task.png      a task's panel: Markdown, relations, claim, history
    board-dark.png      the list in the dark theme
    board-messages.png  the Messages view: a thread between an agent and the people
"""

import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx2 as httpx
from playwright.sync_api import Page, expect, sync_playwright

from http_api import Settings
from tests.support.browser import launch_chromium
from tests.support.servers import live_server

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")

PLAN = """Sign-in with **OAuth 2.0** (authorization code + PKCE) for GitHub and Google.

- store refresh tokens encrypted at rest
- rotate them on every use
- `/auth/callback` must reject a reused `state`

See [RFC 7636](https://www.rfc-editor.org/rfc/rfc7636).
"""


def seed(http: httpx.Client) -> dict[str, str]:
    project = http.post("/api/projects", json={"name": "checkout-service"}).json()
    http.post("/api/projects", json={"name": "docs-site"})

    def task(title: str, **fields: Any) -> str:
        body = {"projectId": project["id"], "title": title, **fields}
        task_id: str = http.post("/api/tasks", json=body).json()["id"]
        return task_id

    def session(name: str, agent: str, task_ids: list[str]) -> str:
        body = {"projectId": project["id"], "name": name, "agent": agent, "taskIds": task_ids}
        session_id: str = http.post("/api/sessions", json=body).json()["id"]
        return session_id

    auth = task("Add OAuth login", priority="high", labels=["auth"], description=PLAN)
    form = task("Login form with validation", parentId=auth, labels=["auth", "ui"])
    tokens = task("Refresh-token rotation", parentId=auth, labels=["auth"])
    flaky = task("Fix flaky payment webhook test", priority="urgent", labels=["payments"])
    migrate = task("Migrate orders table to UUID keys", labels=["db"])
    task("Rate-limit the public API", priority="high", dependsOn=[migrate], labels=["api"])
    task("Write runbook for refunds", priority="low", labels=["docs"])
    task("Remove legacy v1 endpoints", status="cancelled", priority="low", labels=["api"])

    oauth = session("oauth: tokens", "claude-code", [auth, tokens])
    webhook = session("webhook triage", "codex", [flaky])
    review = session("form review", "cursor", [form])
    http.patch(f"/api/sessions/{oauth}", json={"status": "working"})
    http.post(f"/api/tasks/{tokens}/claim", json={"sessionId": oauth, "leaseSeconds": 900})
    http.post(f"/api/sessions/{oauth}/notes", json={"message": "rotation done; writing tests"})
    form_grant = http.post(f"/api/tasks/{form}/claim", json={"sessionId": review}).json()
    http.patch(
        f"/api/tasks/{form}",
        json={"status": "completed"},
        headers={"X-Claim-Token": form_grant["claimToken"]},
    )
    http.post(f"/api/sessions/{review}/notes", json={"message": "form merged, 14 tests added"})
    http.patch(f"/api/sessions/{review}", json={"status": "completed"})
    http.patch(f"/api/tasks/{migrate}", json={"status": "in_review"})
    http.post(f"/api/tasks/{flaky}/claim", json={"sessionId": webhook})
    http.post(
        f"/api/sessions/{webhook}/notes",
        json={"message": "found it: the test races the retry timer"},
    )
    http.post(
        f"/api/sessions/{oauth}/reservations",
        json={"paths": ["src/auth/**"], "taskId": tokens, "leaseSeconds": 900},
    )
    http.post(
        f"/api/sessions/{webhook}/reservations",
        json={"paths": ["tests/payments/test_webhook.py", "src/payments/retry.py"]},
    )
    http.post(
        f"/api/sessions/{webhook}/reservations",
        json={"paths": ["docs/payments.md"], "shared": True},
    )
    thread = http.post(
        "/api/messages",
        json={
            "fromSessionId": oauth,
            "to": ["humans", "agent:codex"],
            "subject": "Refresh tokens now rotate",
            "body": "Heads-up: `POST /auth/refresh` now returns a **new** refresh token on "
            "every call and revokes the old one.\n\n- clients must store the new token\n"
            "- a reused token signs the session out",
        },
    ).json()
    http.post(
        "/api/messages",
        json={
            "projectId": project["id"],
            "replyTo": thread["id"],
            "to": [oauth],
            "body": "Good. Keep the old token valid for **30 s** after a refresh: "
            "mobile clients retry.",
        },
    )
    http.post(
        "/api/messages",
        json={
            "fromSessionId": oauth,
            "replyTo": thread["id"],
            "to": ["humans"],
            "body": "Done: a 30 s grace window, with a test for a retried refresh.",
        },
    )
    http.post(
        "/api/messages",
        json={
            "fromSessionId": webhook,
            "to": ["humans"],
            "subject": "Payment webhook test is flaky by design",
            "body": "It races the retry timer; details in the question above.",
        },
    )
    http.post(
        f"/api/sessions/{webhook}/questions",
        json={
            "text": "The test races the retry timer. OK to **mock the clock** in "
            "`test_webhook_retry`, or should I fix the race in the retry loop?",
            "choices": ["mock the clock", "fix the race"],
            "allowText": True,
            "taskId": flaky,
            "timeoutSeconds": 900,
            "default": "fix the race",
        },
    )
    return {"project": project["id"], "auth": auth, "thread": thread["id"]}


def shoot(page: Page, name: str) -> None:
    page.wait_for_timeout(300)  # a screenshot, not a test: let the last frame settle
    path = OUT / name
    page.screenshot(path=str(path))
    print(path)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database=str(Path(tmp) / "maestro.db"))
        with live_server(settings) as server, sync_playwright() as playwright:
            ids = seed(server.http)
            browser = launch_chromium(playwright)
            for scheme, name in (("light", "board.png"), ("dark", "board-dark.png")):
                page = browser.new_page(
                    viewport={"width": 1280, "height": 800},
                    device_scale_factor=1,
                    color_scheme=scheme,
                )
                page.goto(f"{server.base_url}/?project={ids['project']}")
                expect(page.locator("#connection")).to_have_attribute("data-state", "live")
                expect(page.locator("#activity-list .line").first).to_be_visible()
                shoot(page, name)
                page.close()
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{server.base_url}/?project={ids['project']}&view=kanban")
            expect(page.locator("#kanban .card").first).to_be_visible()
            shoot(page, "board-kanban.png")
            page.goto(f"{server.base_url}/?project={ids['project']}&task={ids['auth']}")
            expect(page.locator("#task-panel .history .line").first).to_be_visible()
            shoot(page, "board-task.png")
            page.goto(
                f"{server.base_url}/?project={ids['project']}&view=messages&thread={ids['thread']}"
            )
            expect(page.locator("#thread-messages .message")).to_have_count(3)
            shoot(page, "board-messages.png")
            browser.close()


if __name__ == "__main__":
    main()
