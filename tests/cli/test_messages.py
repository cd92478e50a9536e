"""``maestro msg send|inbox|read`` against a real server (both stores): what the server
then holds, and both outputs."""

from typing import Any

import pytest

from maestro_mcp.core.models import HUMANS
from maestro_mcp.protocol import AUTHORIZATION_HEADER
from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer
from tests.support.tokens import named_token_headers


@pytest.fixture
def team(run: Run) -> dict[str, Any]:
    """A project with two agents' sessions."""
    project = as_json(run("project", "create", "Web app", "--json"))
    api = as_json(run("session", "create", "api", "--agent", "codex", "--json"))
    web = as_json(run("session", "create", "web", "--agent", "claude-code", "--json"))
    return {"project": project["id"], "api": api["id"], "web": web["id"]}


def humans_state(server: LiveServer, message_id: str) -> dict[str, Any]:
    message = server.http.get(f"/api/messages/{message_id}").json()
    state: dict[str, Any] = next(r for r in message["recipients"] if r["recipient"] == HUMANS)
    return state


def test_send_and_the_inbox_which_marks_nothing_read(
    run: Run, server: LiveServer, team: dict[str, Any]
) -> None:
    sent = run(
        "msg", "send", "--from", team["api"], "--to", "humans", "--subject", "API",
        "The /v2 API is live\nold clients break",
    )  # fmt: skip
    assert sent.stdout.startswith("✓ Message sent msg_")
    assert sent.stdout.rstrip().endswith(" to humans")
    [message] = server.http.get("/api/messages", params={"projectId": team["project"]}).json()
    assert (message["fromSessionId"], message["sender"]) == (team["api"], "local/cli")
    assert message["body"] == "The /v2 API is live\nold clients break"

    # A person writes to an agent: the address is expanded, and named as people know it.
    to_agent = run("msg", "send", "--to", "agent:codex", "Please add pagination")
    assert to_agent.stdout.rstrip().endswith(f"to “api” (codex, {team['api']})")

    table = run("msg", "inbox").stdout.splitlines()
    assert table[0].split() == ["ID", "FROM", "SUBJECT", "MESSAGE", "AGE"]
    assert len(table) == 2  # the humans' inbox: the agent's message only
    assert table[1].split()[:5] == [message["id"], "“api”", "(codex,", f"{team['api']})", "API"]
    assert "The /v2 API is live…" in table[1]
    assert table[1].split()[-1].endswith("s")  # seconds ago
    listed = as_json(run("msg", "inbox", "--json"))
    assert listed == [message]
    # Listing marked nothing read.
    assert humans_state(server, message["id"])["readAt"] is None

    inbox = run("msg", "inbox", "--session", team["api"]).stdout
    assert "local/cli" in inbox  # a person's message: from its actor
    assert "Please add pagination" in inbox
    assert run("msg", "inbox", "--session", team["web"]).stderr.strip() == "(none)"


def test_an_inbox_says_when_there_may_be_more(run: Run, team: dict[str, Any]) -> None:
    """Unread ones from the oldest (reading them, as the inbox's reader, shows the next),
    all from the newest."""
    for body in ("first", "second"):
        run("msg", "send", "--from", team["api"], "--to", "humans", body)
    unread = run("msg", "inbox", "--limit", "1").stdout.splitlines()
    assert "first" in unread[1]
    assert unread[-1] == (
        "the oldest 1: there may be more; maestro msg read ID marks these read; --limit shows more"
    )
    newest = run("msg", "inbox", "--all", "--limit", "1").stdout.splitlines()
    assert "second" in newest[1]
    assert newest[-1] == "the newest 1: there may be more; --limit shows more"
    assert "there may be more" not in run("msg", "inbox", "--limit", "3").stdout
    run("msg", "send", "--to", team["web"], "one")
    run("msg", "send", "--to", team["web"], "two")
    theirs = run("msg", "inbox", "--session", team["web"], "--limit", "1").stdout.splitlines()
    assert theirs[-1] == (
        f"the oldest 1: there may be more; maestro msg read ID --session {team['web']} marks "
        "these read; --limit shows more"
    )


def test_read_shows_the_thread_and_marks_it_read_then_acknowledged(
    run: Run, server: LiveServer, team: dict[str, Any]
) -> None:
    first = as_json(
        run("msg", "send", "--from", team["api"], "--to", "humans", "--subject", "Schema",
            "Drop `v1`?", "--json")
    )  # fmt: skip
    # A reply from the terminal goes back to the agent, in the thread; the agent answers.
    reply = as_json(run("msg", "send", "--reply-to", first["id"], "Yes, drop it", "--json"))
    assert reply["threadId"] == first["id"]
    assert [r["recipient"] for r in reply["recipients"]] == [team["api"]]
    again = as_json(
        run("msg", "send", "--from", team["api"], "--reply-to", reply["id"], "Done", "--json")
    )
    assert [r["recipient"] for r in again["recipients"]] == [HUMANS]

    shown = run("msg", "read", reply["id"]).stdout  # any message of the thread shows it all
    lines = shown.splitlines()
    assert lines[0].startswith(f"“api” (codex, {team['api']}) → humans  ")
    assert lines[0].endswith(first["id"])
    assert lines[1:3] == ["Schema", "Drop `v1`?"]  # the subject once, the body as written
    assert f"\nlocal/cli → “api” (codex, {team['api']})  " in shown  # a person's, to it
    assert shown.index("Yes, drop it") < shown.index("Done")
    assert lines[-1] == "✓ 2 messages marked read for humans"
    state = humans_state(server, first["id"])
    assert state["readAt"] is not None
    assert (state["readBy"], state["ackedAt"]) == ("local/cli", None)
    assert run("msg", "inbox").stderr.strip() == "(none)"
    everything = run("msg", "inbox", "--all").stdout.splitlines()
    assert everything[0].split()[-1] == "STATE"
    assert [line.split()[-1] for line in everything[1:]] == ["read", "read"]

    acked = run("msg", "read", first["id"], "--ack").stdout
    assert acked.splitlines()[-1] == "✓ 2 messages marked acknowledged for humans"
    assert humans_state(server, again["id"])["ackedAt"] is not None
    # Nothing left to mark: the thread is shown, nothing said of marking.
    assert "marked" not in run("msg", "read", first["id"], "--ack").stdout

    # As a session: its messages of the thread (the reply) are marked, as JSON.
    thread = as_json(run("msg", "read", first["id"], "--session", team["api"], "--json"))
    assert [m["id"] for m in thread] == [first["id"], reply["id"], again["id"]]
    [state] = thread[1]["recipients"]
    assert (state["recipient"], state["readBy"]) == (team["api"], "local/cli")
    assert thread == server.http.get("/api/messages", params={"threadId": first["id"]}).json()


def test_a_body_from_stdin_and_text_that_would_drive_the_terminal(
    run: Run, server: LiveServer, team: dict[str, Any]
) -> None:
    body = "Report\n\x1b[2J\x1b[31mred\u202e and more\n"
    sent = as_json(run("msg", "send", "--to", "humans", "--json", "-", input=body))
    assert sent["body"] == body.strip()  # the server keeps what was written, trimmed
    shown = run("msg", "read", sent["id"]).stdout
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "\ufffd[2J\ufffd[31mred\ufffd and more" in shown
    listed = run("msg", "inbox", "--all").stdout
    assert "Report…" in listed


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("msg", "send", "--to", "bob", "hi"), 4, "'bob' is not an address"),
        (("msg", "send", "hi"), 4, "say who the message is for"),
        (("msg", "send", "--reply-to", "msg_nope", "hi"), 3, "message msg_nope not found"),
        (("msg", "read", "msg_nope"), 3, "message msg_nope not found"),
        (("msg", "inbox", "--limit", "0"), 2, "0 is not in the range"),
    ],
)
def test_errors_are_said_as_other_commands_say_them(
    run: Run, team: dict[str, Any], args: tuple[str, ...], code: int, says: str
) -> None:
    failed = run(*args, ok=False)
    assert failed.exit_code == code
    assert says in failed.stderr
    if code != 2:  # click's own usage errors aside
        as_json_error = run(*args, "--json", ok=False)
        assert says in as_json_error.stderr
        assert as_json_error.stdout == ""


def test_a_read_token_reads_the_inbox_but_cannot_send(
    run: Run, server: LiveServer, team: dict[str, Any]
) -> None:
    run("msg", "send", "--from", team["api"], "--to", "humans", "hello")
    tokens = named_token_headers(server.http, {"dashboard": "read"})
    reader = {"MAESTRO_TOKEN": tokens["dashboard"][AUTHORIZATION_HEADER].split()[1]}
    assert "hello" in run("msg", "inbox", env=reader).stdout
    refused = run("msg", "send", "--to", "humans", "hi", env=reader, ok=False)
    assert refused.exit_code == 7
    assert "scope read" in refused.stderr
    # Reading a thread marks it read: a change, which the read token may not make.
    [message] = as_json(run("msg", "inbox", "--json", env=reader))
    assert run("msg", "read", message["id"], env=reader, ok=False).exit_code == 7


def test_addresses_and_senders_that_would_drive_the_terminal_are_shown_safe(
    run: Run, team: dict[str, Any]
) -> None:
    """An agent's name is others' text too: an address naming it (``agent:NAME``) is shown
    with its control characters and bidi marks replaced, in ``msg read``'s head line."""
    agent = "x\x1b[2J\u202e"
    run("session", "create", "odd", "--agent", agent)
    sent = as_json(
        run("msg", "send", "--from", team["api"], "--to", f"agent:{agent}", "hi", "--json")
    )
    assert sent["to"] == [f"agent:{agent}"]
    shown = run("msg", "read", sent["id"]).stdout
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "→ agent:x\ufffd[2J\ufffd" in shown
