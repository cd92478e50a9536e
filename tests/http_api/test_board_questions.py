"""Questions agents ask the people, on the board: at the top of every open page, answered
there, and the answer back with the agent (a real MCP client on the same server, over
streamable HTTP): as a change notification of its session, and in its next call."""

import re
import threading
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import Implementation
from playwright.sync_api import Route, expect

from maestro_mcp.core.models import (
    OPEN_QUESTIONS_MAX,
    QUESTIONS_LIMIT_DEFAULT,
    QUESTIONS_LIMIT_MAX,
)
from tests.support.board import (
    FAKE_NOTIFICATIONS,
    LIVE,
    Pages,
    activity_line,
    agent_alongside,
    question_card,
    session_card,
    start_session,
)
from tests.support.mcp import call, read_json
from tests.support.servers import LiveServer
from tests.support.waiting import WAIT


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
            asking = await call(
                client,
                "update_session",
                sessionId=session["id"],
                ask={
                    "text": "Migrate **now**?",
                    "choices": ["approve", "reject"],
                    "allowText": True,
                    "taskId": task["id"],
                },
            )
            assert asking["session"]["status"] == "needs_input"
            asked.set()
            # Told of each change of its session: the one that leaves it no open question
            # is the answer's.
            with anyio.fail_after(WAIT):
                async for change in changes:
                    assert getattr(change, "uri", None) == uri
                    if (await read_json(client, uri))["questions"] == []:
                        break
            # And given the answer in its next call (once).
            reported = await call(client, "update_session", sessionId=session["id"], note="go")
            assert reported["session"]["status"] == "working"
            [answer] = reported["answers"]
            assert (answer["question"], answer["answer"], answer["answeredBy"]) == (
                "Migrate **now**?",
                "approve",
                "local/board",
            )

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


def test_an_answer_leaves_every_page_and_a_late_one_is_told_who_was_first(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project)
    question = ask(server, session["id"], text="Deploy on Friday?", choices=["yes", "no"])
    first, second = pages.open(), pages.open()
    for page in (first, second):
        expect(question_card(page, "Deploy on Friday?")).to_be_visible()
        # Choices only: no text field.
        expect(question_card(page, "Deploy on Friday?").get_by_role("textbox")).to_have_count(0)

    # The second person's answer leaves after someone else's, before their page heard of
    # it: the server keeps the first and says whose it was.
    def answered_meanwhile(route: Route) -> None:
        server.http.post(f"/api/questions/{question['id']}/answer", json={"answer": "no"})
        route.continue_()

    pages.expected_statuses = {409}
    second.route("**/api/questions/*/answer", answered_meanwhile)
    question_card(second, "Deploy on Friday?").get_by_role("button", name="yes").click()
    expect(second.locator("#notice")).to_contain_text(
        f"question {question['id']} was answered already by local: 'no'"
    )
    for page in (first, second):
        expect(question_card(page, "Deploy on Friday?")).to_have_count(0, timeout=LIVE)
        expect(page).to_have_title("Maestro · Web app")
    [answered] = server.http.get("/api/questions", params={"sessionId": session["id"]}).json()
    assert (answered["answer"], answered["answeredBy"]) == ("no", "local")


def test_a_new_question_notifies_once_and_says_it_in_the_title(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project)
    page = pages.open(init_script=FAKE_NOTIFICATIONS)
    page.get_by_role("button", name="Notify me").click()
    # In the background: no animation frames, the title and the notification do not wait.
    page.evaluate("window.requestAnimationFrame = () => 0")

    ask(server, session["id"], text="Which *region* for the bucket?")
    expect(page).to_have_title("(1) Maestro · Web app", timeout=LIVE)
    expect(page.locator("html")).to_have_attribute("data-notifications", "1")
    # The question's notification, and none for its session's needs_input (the same write).
    assert page.evaluate("window.__notifications") == [
        {"title": "codex asks", "body": "Which region for the bucket?"}
    ]


def test_a_text_answer_and_a_deadline_that_answers_by_itself(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project)
    other = start_session(server, project, "release", agent="claude-code")
    page = pages.open()
    ask(server, session["id"], text="Name the **branch**")
    ask(
        server,
        other["id"],
        text="Ship it?",
        choices=["ship", "wait"],
        # Long enough for a loaded machine to do what follows before the server answers.
        timeoutSeconds=6,
        default="wait",
    )
    named = question_card(page, "Name the branch")
    shipping = question_card(page, "Ship it?")
    expect(page.locator("#question-list .question")).to_have_count(2, timeout=LIVE)
    expect(page).to_have_title("(2) Maestro · Web app")
    expect(page.locator("#attention")).to_have_text("2 questions to answer")
    expect(shipping.locator(".deadline")).to_have_text(
        re.compile(r"^Answers “wait” (in \d s|any moment now) unless someone answers first$")
    )

    named.get_by_role("textbox", name="Your answer to codex").fill("release/2.0")
    named.get_by_role("textbox").press("Enter")
    expect(named).to_have_count(0, timeout=LIVE)
    # The keyboard goes on to the next question.
    expect(shipping.get_by_role("button", name="ship")).to_be_focused()
    expect(activity_line(page, "answered release/2.0")).to_be_visible()
    # Its deadline passes: the server answers with the default, and the page follows.
    expect(shipping).to_have_count(0, timeout=WAIT * 1000)
    expect(activity_line(page, "in time")).to_contain_text(
        "no one answered release in time: its default wait applies"
    )
    expect(page.locator("#questions")).to_be_hidden()
    expect(session_card(page, "release").locator(".badge")).to_have_text("working")


def test_a_session_that_ends_takes_its_question_away(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project)
    ask(server, session["id"], text="Keep the old API?")
    page = pages.open()
    expect(question_card(page, "Keep the old API?")).to_be_visible()
    server.http.patch(f"/api/sessions/{session['id']}", json={"status": "stopped"})
    expect(question_card(page, "Keep the old API?")).to_have_count(0, timeout=LIVE)
    expect(page).to_have_title("Maestro · Web app")


def ask_many(server: LiveServer, project: dict[str, Any], count: int) -> list[str]:
    """``count`` open questions in ``project``, from as many sessions as that takes (one
    may have OPEN_QUESTIONS_MAX open): the sessions' ids."""
    sessions = []
    with server.client() as http:
        for first in range(0, count, OPEN_QUESTIONS_MAX):
            body = {"projectId": project["id"], "name": f"agent {first}", "agent": "codex"}
            session = http.post("/api/sessions", json=body).json()
            sessions.append(session["id"])
            for n in range(first, min(first + OPEN_QUESTIONS_MAX, count)):
                asked = http.post(
                    f"/api/sessions/{session['id']}/questions", json={"text": f"question {n}"}
                )
                assert asked.status_code == 201, asked.text
    return sessions


@pytest.mark.parametrize(
    ("count", "loaded", "shown", "attention"),
    [
        # Past what a listing returns by default, each is on the page.
        (101, 101, "101", "101 questions to answer"),
        # Past what one listing returns at most: the oldest that many, and the page says
        # there may be more. The session whose question was not loaded still shows as
        # waiting (needs_input).
        (1001, 1000, "1000+", "1001+ waiting for you"),
    ],
    ids=["past-the-default", "past-the-most"],
)
def test_every_open_question_is_loaded_or_the_page_says_there_may_be_more(
    pages: Pages,
    server: LiveServer,
    project: dict[str, Any],
    count: int,
    loaded: int,
    shown: str,
    attention: str,
) -> None:
    assert (QUESTIONS_LIMIT_DEFAULT, QUESTIONS_LIMIT_MAX) == (100, 1000)  # the cases' bounds
    ask_many(server, project, count)
    page = pages.open()
    cards = page.locator("#question-list .question")
    expect(cards).to_have_count(loaded, timeout=WAIT * 1000)
    expect(page.locator("#question-count")).to_have_text(shown)
    expect(page.locator("#attention")).to_have_text(attention)
    expect(page).to_have_title(f"({attention.split()[0]}) Maestro · Web app")
    expect(cards.last).to_contain_text(f"question {loaded - 1}")

    # Another project's page has its own count, with no "+" of this one's, also while its
    # questions are on their way: held here while one more is asked, which comes live.
    other = server.http.post("/api/projects", json={"name": "Other"}).json()
    [asking] = ask_many(server, other, 1)
    counted_while_loading: list[bool] = []

    def hold(route: Route) -> None:
        response = route.fetch()
        try:
            expect(page).to_have_title("(1) Maestro · Other", timeout=LIVE)  # it waits
            ask(server, asking, text="asked meanwhile")
            expect(page.locator("#attention")).to_have_text("codex asks a question", timeout=LIVE)
            expect(page).to_have_title("(1) Maestro · Other")
            counted_while_loading.append(True)
        finally:
            route.fulfill(response=response)

    page.route(lambda url: "/api/questions?" in url and other["id"] in url, hold)
    page.get_by_role("combobox", name="Project").select_option(label="Other")
    expect(page.locator("#attention")).to_have_text("2 questions to answer", timeout=3 * LIVE)
    assert counted_while_loading == [True]
    expect(page).to_have_title("(2) Maestro · Other")
