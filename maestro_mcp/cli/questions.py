"""``maestro question …``: the agents' questions for the people, and their answers.

An agent's session asks (MCP ``update_session`` with ``ask``, or REST) and waits in
``needs_input``; a person answers here, on the board, or over REST. The first answer
wins; the server says what an answer must be (one of the choices, unless the question
takes any text), and this command prints what it says.
"""

from typing import Any

import click
from rich.text import Text

from maestro_mcp.core.vocabulary import (
    QUESTIONS_LIMIT_DEFAULT,
    QUESTIONS_LIMIT_MAX,
    QuestionStatus,
)

from .context import Cli, client_command, sessions_by_id
from .output import terminal_safe
from .params import QUESTIONS_LIMIT, text_or_stdin
from .show import may_be_more, now_ms, session_label, span

QUESTIONS = "/api/questions"
COLUMNS = ["ID", "SESSION", "TASK", "QUESTION", "ANSWERS", "DEADLINE"]
ANY_TEXT = "any text"


@click.group()
def question() -> None:
    """Agents' questions for the people: list them, answer one."""


@question.command("list")
@click.option(
    "--all", "all_", is_flag=True, help="Answered and cancelled questions too: the newest ones."
)
@click.option(
    "--limit",
    type=QUESTIONS_LIMIT,
    default=QUESTIONS_LIMIT_DEFAULT,
    show_default=True,
    help="At most this many.",
)
@client_command
def list_(cli: Cli, all_: bool, limit: int) -> None:
    """List the project's open questions, in the order they were asked.

    Each: its id, the session that asks (and the task it is about), the question, the
    answers it takes (its choices, or any text) and, when it has a deadline, in how
    long its default answers it. With --all, answered and cancelled ones too, with
    their answer (the newest, still in the order asked).

    \b
    Example:
      maestro question list
      maestro question list --all --limit 20 --json
    """
    project = cli.project()
    listed: list[dict[str, Any]] = cli.client.get(
        QUESTIONS,
        projectId=project["id"],
        status=None if all_ else QuestionStatus.OPEN.value,
        newest="true" if all_ else None,
        limit=limit,
    ).body
    if cli.printer.json_mode:
        cli.printer.data(listed)
        return
    sessions = sessions_by_id(cli, project["id"]) if listed else {}
    now = now_ms()
    rows = []
    for q in listed:
        row: list[Any] = [
            q["id"],
            session_label(q["sessionId"], sessions),
            q["taskId"],
            terminal_safe(q["text"]),
            answers_taken(q),
            _deadline(q, now),
        ]
        if all_:
            row += [q["status"], _answer(q)]
        rows.append(row)
    cli.printer.table(COLUMNS + (["STATUS", "ANSWER"] if all_ else []), rows, listed)
    more = may_be_more(len(listed), limit, QUESTIONS_LIMIT_MAX, newest=all_)
    if more is not None:
        cli.printer.line(more)


@question.command()
@click.argument("question_id")
@click.argument("answer")
@client_command
def answer(cli: Cli, question_id: str, answer: str) -> None:
    """Answer an agent's question; its session then works again, if it waits for no other.

    ANSWER is one of the question's choices, unless it takes any text (the server
    says which, and refuses another); - reads it from standard input. The first answer
    wins: a question answered already, or cancelled, is refused, saying by whom.

    \b
    Example:
      maestro question answer ques_1a2b3c4d approve
    """
    answer = text_or_stdin(answer)
    answered = cli.client.request(
        "POST", f"{QUESTIONS}/{question_id}/answer", json={"answer": answer}
    ).body
    cli.printer.done(f"Question {question_id} answered: {_answer(answered)}", answered)


def answers_taken(q: dict[str, Any]) -> str:
    """The answers a question takes: ``approve / reject``, ``… / any text``, ``any text``."""
    taken = [terminal_safe(c) for c in q["choices"]]
    if q["allowText"]:
        taken.append(ANY_TEXT)
    return " / ".join(taken)


def _deadline(q: dict[str, Any], now: int) -> Text | None:
    """When an open question's default answers it: ``in 4m → no``."""
    if q["status"] != QuestionStatus.OPEN or q["deadlineAt"] is None:
        return None
    return Text(f"in {span(q['deadlineAt'] - now)} → {terminal_safe(q['default'] or '')}")


def _answer(q: dict[str, Any]) -> str | None:
    if q["answer"] is None:
        return None
    by = "its default" if q["defaulted"] else q["answeredBy"]
    return f"{terminal_safe(q['answer'])} (by {by})"
