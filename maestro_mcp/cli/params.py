"""Option types and defaults built from the core's vocabulary, and arguments read from stdin.

The CLI defines no status, priority, default or limit of its own: each comes from
``maestro_mcp.core.vocabulary``, so ``--help``, the shell's validation and the server
always agree (tests/cli/test_vocabulary.py checks it).
"""

from enum import StrEnum

import click

from maestro_mcp.core.vocabulary import (
    CLAIM_NEXT_MAX,
    DEFAULT_SESSION_STATUS,
    DEFAULT_TASK_PRIORITY,
    DEFAULT_TASK_STATUS,
    HISTORY_LIMIT_MAX,
    LEASE_MAX_S,
    LEASE_MIN_S,
    LIST_LIMIT_MAX,
    MESSAGES_LIMIT_MAX,
    NOTES_LIMIT_MAX,
    QUESTIONS_LIMIT_MAX,
    SessionStatus,
    TaskPriority,
    TaskStatus,
)
from maestro_mcp.protocol import SEQ_MAX


def choice(enum: type[StrEnum]) -> click.Choice[str]:
    """The enum's values, in its order."""
    return click.Choice([member.value for member in enum])


TASK_STATUS = choice(TaskStatus)
TASK_PRIORITY = choice(TaskPriority)
SESSION_STATUS = choice(SessionStatus)

# What the server assumes when the field is left out: the CLI shows and sends the same.
TASK_STATUS_DEFAULT = DEFAULT_TASK_STATUS.value
TASK_PRIORITY_DEFAULT = DEFAULT_TASK_PRIORITY.value
SESSION_STATUS_DEFAULT = DEFAULT_SESSION_STATUS.value

LEASE_SECONDS = click.IntRange(LEASE_MIN_S, LEASE_MAX_S)
CLAIM_COUNT = click.IntRange(1, CLAIM_NEXT_MAX)
LIST_LIMIT = click.IntRange(1, LIST_LIMIT_MAX)
MESSAGES_LIMIT = click.IntRange(1, MESSAGES_LIMIT_MAX)
QUESTIONS_LIMIT = click.IntRange(1, QUESTIONS_LIMIT_MAX)
# 0 shows none, without asking the server.
NOTES_COUNT = click.IntRange(0, NOTES_LIMIT_MAX)
HISTORY_LIMIT = click.IntRange(1, HISTORY_LIMIT_MAX)
SEQ = click.IntRange(1, SEQ_MAX)  # a seq a query may name

# An argument given as this is read from standard input instead (a message's body).
STDIN = "-"


def text_or_stdin(value: str) -> str:
    """``value``, or what standard input holds when it is ``STDIN``."""
    if value != STDIN:
        return value
    with click.open_file(STDIN, "r", encoding="utf-8") as stream:
        text: str = stream.read()
    return text
