"""Questions agents ask the people, on the board: at the top of every open page, answered
there, and the answer back with the agent (a real MCP client on the same server)."""

import json
import threading
from typing import Any

import anyio
from mcp import Client
from mcp.types import Implementation, TextResourceContents
from playwright.sync_api import expect

from tests.support.board import (
    LIVE,
    Pages,
    activity_line,
    agent_alongside,
    question_card,
    session_card,
)
from tests.support.servers import LiveServer
from tests.support.waiting import WAIT


def start_session(
    server: LiveServer, project: dict[str, Any], name: str = "db work", **fields: Any
) -> dict[str, Any]:
    body = {"projectId": project["id"], "name": name, "agent": "codex", **fields}
    created: dict[str, Any] = server.http.post("/api/sessions", json=body).json()
    return created


def ask(server: LiveServer, session_id: str, **question: Any) -> dict[str, Any]:
    response = server.http.post(f"/api/sessions/{session_id}/questions", json=question)
    assert response.status_code == 201, response.text
    asked: dict[str, Any] = response.json()
    return asked


def test_a_question_from_an_agent_is_answered_in_the_page_and_reaches_the_agent(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Migrate orders"}
    ).json()
    session = start_session(server, project, taskIds=[task["id"]])
    page = pages.open()
    asked = threading.Event()
    uri = f"maestro://sessions/{session['id']}"

    async def agent() -> None:
        async with (
            Client(
                server.base_url + "/mcp", client_info=Implementation(name="codex", version="1")
            ) as client,
            client.listen(resource_subscriptions=[uri]) as changes,
        ):
            await anyio.to_thread.run_sync(
                lambda: ask(
                    server,
                    session["id"],
                    text="Migrate **now**?",
                    choices=["approve", "reject"],
                    allowText=True,
                    taskId=task["id"],
                )
            )
            asked.set()
            # Told of each change of its session: the last is the answer's (the
            # session works again).
            with anyio.fail_after(WAIT):
                async for change in changes:
                    assert getattr(change, "uri", None) == uri
                    read = await client.read_resource(uri)
                    [content] = read.contents
                    assert isinstance(content, TextResourceContents)
                    if json.loads(content.text)["session"]["status"] == "working":
                        break

    with agent_alongside(agent):
        assert asked.wait(WAIT)
        card = question_card(page, "Migrate now?")
        expect(card).to_be_visible(timeout=LIVE)
        expect(card.locator(".question-text strong")).to_have_text("now")  # Markdown, safely
        expect(card.locator(".question-head")).to_contain_text("codex in db work asks about")
        expect(card.get_by_role("link", name="Migrate orders")).to_be_visible()
        expect(card.get_by_role("link", name="db work")).to_be_visible()
        expect(card.get_by_role("textbox", name="Your answer to codex")).to_be_visible()
        # The session waits, with its question.
        expect(session_card(page, "db work").locator(".badge")).to_have_text("needs input")
        expect(session_card(page, "db work").locator(".session-question")).to_contain_text(
            "Migrate now?"
        )
        expect(page).to_have_title("(1) Maestro · Web app")
        expect(page.locator("#attention")).to_have_text("codex asks a question")

        card.get_by_role("button", name="approve").click()
        expect(card).to_have_count(0, timeout=LIVE)
        expect(page.locator("#questions")).to_be_hidden()
        expect(page).to_have_title("Maestro · Web app")
        # (The quotes are the page's: its <q> elements draw them.)
        expect(activity_line(page, "answered approve")).to_contain_text(
            "you answered approve to db work"
        )
        expect(activity_line(page, "asked: Migrate now?").locator(".who")).to_have_text("codex")
    [answered] = server.http.get("/api/questions", params={"projectId": project["id"]}).json()
    assert (answered["status"], answered["answer"]) == ("answered", "approve")
    assert answered["answeredBy"] == "local/board"
