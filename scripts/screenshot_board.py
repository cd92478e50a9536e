"""Render docs/board.png: the web board with realistic data, in headless Chromium.

.venv/bin/python scripts/screenshot_board.py [out.png]
"""

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx
import uvicorn
from playwright.sync_api import sync_playwright

from http_api import Settings, create_app
from maestro_mcp.core.runtime import Core

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/board.png")
CHROMIUM = os.environ.get("MAESTRO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def seed(http: httpx.Client) -> None:
    project = http.post("/api/projects", json={"name": "checkout-service"}).json()
    http.post("/api/projects", json={"name": "docs-site"})

    def task(title: str, **fields: object) -> str:
        body = {"projectId": project["id"], "title": title, **fields}
        task_id: str = http.post("/api/tasks", json=body).json()["id"]
        return task_id

    auth = task("Add OAuth login", priority="high", status="in_progress")
    form = task("Login form with validation", parentId=auth, status="completed")
    tokens = task("Refresh-token rotation", parentId=auth)
    flaky = task("Fix flaky payment webhook test", priority="urgent", status="blocked")
    migrate = task("Migrate orders table to UUID keys", priority="medium", status="in_review")
    task("Rate-limit the public API", priority="high", dependsOn=[migrate])
    task("Write runbook for refunds", priority="low")
    task("Remove legacy v1 endpoints", status="cancelled", priority="low")
    sessions = [
        ("oauth: tokens", "claude-code", "working", [auth, tokens]),
        ("webhook triage", "codex", "needs_input", [flaky]),
        ("form review", "cursor", "completed", [form, auth]),
    ]
    for name, agent, status, task_ids in sessions:
        body = {"projectId": project["id"], "name": name, "agent": agent, "taskIds": task_ids}
        session = http.post("/api/sessions", json=body).json()
        http.patch(f"/api/sessions/{session['id']}", json={"status": status})
        if name == "oauth: tokens":
            claim = {"sessionId": session["id"], "leaseSeconds": 900}
            http.post(f"/api/tasks/{tokens}/claim", json=claim)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Core(Settings(db_path=Path(tmp) / "maestro.db")))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        with httpx.Client(base_url=url) as http:
            seed(http)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
            page.goto(url + "/")
            page.wait_for_selector(".connection[data-state=live]")
            page.locator(".session", has_text="oauth: tokens").locator(".expand").click()
            page.wait_for_timeout(200)
            page.screenshot(path=str(OUT))
            browser.close()
        server.should_exit = True
        thread.join()
    print(OUT)


if __name__ == "__main__":
    main()
