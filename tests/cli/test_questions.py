"""``maestro question list|answer`` against a real server (both stores): the questions an
agent asked, answered from the terminal; the server's refusals said as other commands
say them."""

from typing import Any

import pytest

from maestro_mcp.protocol import AUTHORIZATION_HEADER
from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer
from tests.support.tokens import named_token_headers


@pytest.fixture
def asked(run: Run, server: LiveServer) -> dict[str, Any]:
    """A working agent's session that asked two questions: one with choices and a deadline,
    one in words about its task."""
    project = as_json(run("project", "create", "Web app", "--json"))
    task = as_json(run("task", "create", "Migrate", "--json"))
    session = as_json(
        run("session", "create", "api", "--agent", "codex", "--status", "working", "--json")
    )
    ask = f"/api/sessions/{session['id']}/questions"
    choose = server.http.post(
        ask,
        json={"text": "Migrate now?\nIt locks the table.", "choices": ["approve", "reject"],
              "timeoutSeconds": 3600, "default": "reject"},
    ).json()  # fmt: skip
    words = server.http.post(ask, json={"text": "Which DB?", "taskId": task["id"]}).json()
    return {"project": project, "task": task, "session": session, "choose": choose, "words": words}


def test_open_questions_are_listed_with_what_they_take(run: Run, asked: dict[str, Any]) -> None:
    lines = run("question", "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "SESSION", "TASK", "QUESTION", "ANSWERS", "DEADLINE"]
    choose, words = asked["choose"]["id"], asked["words"]["id"]
    first = next(i for i, line in enumerate(lines) if line.startswith(choose))
    assert f"“api” (codex, {asked['session']['id']})" in lines[first]
    assert "Migrate now?" in lines[first]
    assert "approve / reject" in lines[first]
    # Due in an hour, less the moment this took.
    assert lines[first].rstrip().endswith(("in 59m → reject", "in 1h → reject"))
    assert "It locks the table." in lines[first + 1]  # the whole question, as asked
    [second] = [line for line in lines if line.startswith(words)]
    assert asked["task"]["id"] in second
    assert "Which DB?" in second
    assert "any text" in second
    assert as_json(run("question", "list", "--json")) == [asked["choose"], asked["words"]]


def test_a_list_says_when_there_may_be_more(run: Run, asked: dict[str, Any]) -> None:
    """Open ones from the oldest, all of them from the newest: past --limit, the list says
    so rather than end as if it were whole."""
    choose, words = asked["choose"]["id"], asked["words"]["id"]
    first = run("question", "list", "--limit", "1").stdout.splitlines()
    assert [line.split()[0] for line in first[1:-1] if line.startswith("ques_")] == [choose]
    assert first[-1] == "the oldest 1: there may be more; --limit shows more"
    newest = run("question", "list", "--all", "--limit", "1").stdout.splitlines()
    assert [line.split()[0] for line in newest if line.startswith("ques_")] == [words]
    assert newest[-1] == "the newest 1: there may be more; --limit shows more"
    assert as_json(run("question", "list", "--all", "--limit", "1", "--json")) == [asked["words"]]
    whole = run("question", "list", "--limit", "3").stdout
    assert "there may be more" not in whole  # two open: fewer than it asked for
    refused = run("question", "list", "--limit", "1001", ok=False)
    assert refused.exit_code == 2
    assert "1<=x<=1000" in refused.stderr


def test_a_person_answers_once_and_the_session_works_again(
    run: Run, server: LiveServer, asked: dict[str, Any]
) -> None:
    choose, words = asked["choose"]["id"], asked["words"]["id"]
    wrong = run("question", "answer", choose, "maybe", ok=False)
    assert wrong.exit_code == 4
    assert wrong.stderr.startswith("✗ answer one of: approve, reject")

    answered = run("question", "answer", choose, "approve")
    assert answered.stdout.strip() == f"✓ Question {choose} answered: approve (by local/cli)"
    question = server.http.get(f"/api/questions/{choose}").json()
    assert (question["status"], question["answer"], question["answeredBy"]) == (
        "answered",
        "approve",
        "local/cli",
    )
    # The first answer wins; the server says who gave it.
    late = run("question", "answer", choose, "reject", ok=False)
    assert late.exit_code == 5
    assert "answered already by local/cli: 'approve'" in late.stderr
    late_json = run("question", "answer", choose, "reject", "--json", ok=False)
    assert '"already_answered"' in late_json.stderr

    # The session waits for its other question; a free answer, read from stdin.
    session = f"/api/sessions/{asked['session']['id']}"
    assert server.http.get(session).json()["status"] == "needs_input"
    done = as_json(run("question", "answer", words, "-", "--json", input="PostgreSQL 17\n"))
    assert done["answer"] == "PostgreSQL 17"
    assert server.http.get(session).json()["status"] == "working"

    assert run("question", "list").stderr.strip() == "(none)"  # none open
    everything = run("question", "list", "--all").stdout.splitlines()
    assert everything[0].split()[-2:] == ["STATUS", "ANSWER"]
    assert "answered  approve (by local/cli)" in everything[1]


def test_unknown_questions_and_read_tokens_are_refused(
    run: Run, server: LiveServer, asked: dict[str, Any]
) -> None:
    missing = run("question", "answer", "ques_nope", "yes", ok=False)
    assert missing.exit_code == 3
    assert "question ques_nope not found" in missing.stderr
    tokens = named_token_headers(server.http, {"dashboard": "read"})
    reader = {"MAESTRO_TOKEN": tokens["dashboard"][AUTHORIZATION_HEADER].split()[1]}
    assert asked["words"]["id"] in run("question", "list", env=reader).stdout
    refused = run("question", "answer", asked["words"]["id"], "x", env=reader, ok=False)
    assert refused.exit_code == 7
    assert "scope read" in refused.stderr
