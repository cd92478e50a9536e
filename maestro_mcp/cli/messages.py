"""``maestro msg …``: messages between the people and the agents' sessions.

A person sends as the request's actor (``local/cli``, ``<token>/cli``), or on a
session's behalf with ``--from``. The humans have one inbox per project, shared by
the people; ``--session`` reads a session's instead. Listing an inbox marks nothing
read: ``msg read`` does, for the messages of the thread addressed to its reader.
"""

from collections.abc import Iterable
from typing import Any

import click
from rich.text import Text

from maestro_mcp.core.vocabulary import (
    HUMANS,
    MESSAGES_LIMIT_DEFAULT,
    MESSAGES_LIMIT_MAX,
    MESSAGES_PER_CALL_MAX,
)

from .context import Cli, client_command, sessions_by_id
from .output import terminal_safe
from .params import MESSAGES_LIMIT, text_or_stdin
from .show import ago, first_line, may_be_more, session_label, when

MESSAGES = "/api/messages"
INBOX_COLUMNS = ["ID", "FROM", "SUBJECT", "MESSAGE", "AGE"]


@click.group()
def msg() -> None:
    """Messages between people and agents: send, read an inbox, read a thread."""


@msg.command()
@click.argument("body")
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS",
    help="A session id, agent:NAME (its active sessions), humans, or project (every active "
    "session and the humans); repeatable. A reply without it goes to the message's sender.",
)
@click.option(
    "--from",
    "from_session",
    metavar="SESSION",
    help="Send as this session (an agent), not as yourself.",
)
@click.option("--subject", default="", help="A subject (a reply without one takes its message's).")
@click.option("--reply-to", metavar="MESSAGE_ID", help="Reply in this message's thread.")
@client_command
def send(
    cli: Cli,
    body: str,
    to: tuple[str, ...],
    from_session: str | None,
    subject: str,
    reply_to: str | None,
) -> None:
    """Send a message to sessions, an agent, the humans or the whole project.

    BODY is Markdown; - reads it from standard input. Prints the message's id and who
    it went to (the addresses expanded, when it was sent, to sessions and humans).

    \b
    Example:
      maestro msg send --to agent:codex --subject "API" "The /v2 API is live"
      maestro msg send --reply-to msg_1a2b3c4d "Yes, go ahead"
      maestro msg send --to humans --from sess_1a2b3c4d - < report.md
    """
    body = text_or_stdin(body)
    # The sending session or the message replied to says the project, unless one is named.
    derived = from_session is not None or reply_to is not None
    sent = cli.client.request(
        "POST",
        MESSAGES,
        json={
            "projectId": cli.project()["id"] if cli.project_ref or not derived else None,
            "fromSessionId": from_session,
            "to": list(to),
            "subject": subject,
            "body": body,
            "replyTo": reply_to,
        },
    ).body
    if cli.printer.json_mode:
        cli.printer.data(sent)
        return
    labels = _labels(cli, [sent])
    recipients = ", ".join(labels.get(r["recipient"], r["recipient"]) for r in sent["recipients"])
    cli.printer.done(f"Message sent {sent['id']} to {recipients}", sent)


@msg.command()
@click.option("--session", metavar="SESSION", help="This session's inbox, not the humans'.")
@click.option("--all", "all_", is_flag=True, help="Read messages too: the newest ones.")
@click.option(
    "--limit",
    type=MESSAGES_LIMIT,
    default=MESSAGES_LIMIT_DEFAULT,
    show_default=True,
    help="At most this many.",
)
@client_command
def inbox(cli: Cli, session: str | None, all_: bool, limit: int) -> None:
    """List the unread messages of the humans' inbox, oldest first.

    Each: its id, who sent it, its subject, its first line and how long ago. With
    --session, a session's inbox; with --all, read messages too (the newest, still
    oldest first). Listing marks nothing read: maestro msg read does.

    \b
    Example:
      maestro msg inbox
      maestro msg inbox --session sess_1a2b3c4d --all
    """
    reader = session or HUMANS
    # The humans' inbox is a project's; a session's is its own, in its project.
    project_id = cli.project()["id"] if session is None or cli.project_ref else None
    listed: list[dict[str, Any]] = cli.client.get(
        MESSAGES,
        projectId=project_id,
        recipient=reader,
        unread=None if all_ else "true",
        newest="true" if all_ else None,
        limit=limit,
    ).body
    if cli.printer.json_mode:
        cli.printer.data(listed)
        return
    labels = _labels(cli, listed)
    columns = INBOX_COLUMNS + (["STATE"] if all_ else [])
    rows = []
    for message in listed:
        row = [
            message["id"],
            _sender(message, labels),
            first_line(message["subject"]) or None,
            first_line(message["body"]),
            ago(message["createdAt"]),
        ]
        if all_:
            row.append(_state(message, reader))
        rows.append(row)
    cli.printer.table(columns, rows, listed)
    # Reading the oldest unread ones (as this reader) brings the next ones into the listing.
    read_as = f" --session {session}" if session else ""
    hints = [] if all_ else [f"maestro msg read ID{read_as} marks these read"]
    more = may_be_more(len(listed), limit, MESSAGES_LIMIT_MAX, *hints, newest=all_)
    if more is not None:
        cli.printer.line(more)


@msg.command()
@click.argument("message_id")
@click.option("--ack", is_flag=True, help="Also acknowledge them: done with, not only read.")
@click.option(
    "--session",
    metavar="SESSION",
    help="Read as this session: its messages of the thread are marked, not the humans'.",
)
@client_command
def read(cli: Cli, message_id: str, ack: bool, session: str | None) -> None:
    """Show the whole thread of a message, and mark it read.

    Each message with who sent it, to whom, when, and its body as written (Markdown).
    The messages of the thread addressed to the humans (or to --session) are marked
    read, and acknowledged with --ack. With --json, the thread as it is then.

    \b
    Example:
      maestro msg read msg_1a2b3c4d --ack
    """
    reader = session or HUMANS
    message = cli.client.get(f"{MESSAGES}/{message_id}").body
    thread: list[dict[str, Any]] = cli.client.get(
        MESSAGES, threadId=message["threadId"], newest="true", limit=MESSAGES_LIMIT_MAX
    ).body
    due = [m["id"] for m in thread if _unmarked(m, reader, ack)]
    marked: dict[str, dict[str, Any]] = {}
    for ids in _batches(due, MESSAGES_PER_CALL_MAX):
        answer = cli.client.request(
            "POST", f"{MESSAGES}/read", json={"recipient": reader, "messageIds": ids, "ack": ack}
        ).body
        marked.update((m["id"], m) for m in answer)
    thread = [marked.get(m["id"], m) for m in thread]
    if cli.printer.json_mode:
        cli.printer.data(thread)
        return
    labels = _labels(cli, thread)
    out = cli.printer
    if len(thread) == MESSAGES_LIMIT_MAX:
        out.line(Text(f"(the newest {MESSAGES_LIMIT_MAX} messages of the thread)", "dim"))
    for i, m in enumerate(thread):
        if i:
            out.line("")
        to = terminal_safe(", ".join(labels.get(a, a) for a in m["to"]))
        head = Text.assemble((_sender(m, labels), "bold"), f" → {to}")
        head.append(f"  {when(m['createdAt'])}  {m['id']}", style="dim")
        out.line(head)
        if m["subject"] and (i == 0 or m["subject"] != thread[i - 1]["subject"]):
            out.line(Text(terminal_safe(m["subject"]), style="bold"))
        out.line(Text(terminal_safe(m["body"])))
    if due:
        state = "acknowledged" if ack else "read"
        count = f"{len(due)} message{'s' if len(due) != 1 else ''}"
        out.done(f"{count} marked {state} for {labels.get(reader, reader)}", thread)


def _labels(cli: Cli, messages: Iterable[dict[str, Any]]) -> dict[str, str]:
    """How the sessions of these messages' projects are shown (``show.session_label``),
    by id."""
    labels: dict[str, str] = {}
    for project_id in sorted({m["projectId"] for m in messages}):
        sessions = sessions_by_id(cli, project_id)
        labels.update((session_id, session_label(session_id, sessions)) for session_id in sessions)
    return labels


def _sender(message: dict[str, Any], labels: dict[str, str]) -> str:
    """Its session as a person knows it, or the person who sent it (the actor), safe for
    a terminal."""
    session_id: str | None = message["fromSessionId"]
    if session_id is None:
        return terminal_safe(str(message["sender"]))
    return terminal_safe(labels.get(session_id, session_id))


def _recipient(message: dict[str, Any], reader: str) -> dict[str, Any] | None:
    return next((r for r in message["recipients"] if r["recipient"] == reader), None)


def _state(message: dict[str, Any], reader: str) -> str:
    state = _recipient(message, reader)
    if state is None:
        return "-"
    if state["ackedAt"] is not None:
        return "acknowledged"
    return "read" if state["readAt"] is not None else "unread"


def _unmarked(message: dict[str, Any], reader: str, ack: bool) -> bool:
    """Whether marking ``message`` read (acknowledged, with ``ack``) by ``reader`` would
    change it: addressed to it, and not read (acknowledged) yet."""
    state = _recipient(message, reader)
    if state is None:
        return False
    return state["readAt"] is None or (ack and state["ackedAt"] is None)


def _batches(ids: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
