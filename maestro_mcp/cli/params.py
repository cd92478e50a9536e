"""Option types and defaults built from the core's vocabulary.

The CLI defines no status, priority, default or limit of its own: each comes from
``maestro_mcp.core.models``, so ``--help``, the shell's validation and the server
always agree (tests/cli/test_vocabulary.py checks it).
"""

from enum import StrEnum
from typing import Any

import click
from pydantic import BaseModel

from maestro_mcp.core.models import (
    CLAIM_NEXT_MAX,
    LEASE_MAX_S,
    LEASE_MIN_S,
    LIST_LIMIT_MAX,
    NOTES_LIMIT_MAX,
    SessionCreate,
    SessionStatus,
    TaskCreate,
    TaskPriority,
    TaskStatus,
)


def choice(enum: type[StrEnum]) -> click.Choice[str]:
    """The enum's values, in its order."""
    return click.Choice([member.value for member in enum])


def default_of(model: type[BaseModel], field: str) -> Any:
    """What the server assumes when the field is left out: the CLI shows and sends the same."""
    value = model.model_fields[field].default
    return value.value if isinstance(value, StrEnum) else value


TASK_STATUS = choice(TaskStatus)
TASK_PRIORITY = choice(TaskPriority)
SESSION_STATUS = choice(SessionStatus)

DEFAULT_TASK_STATUS: str = default_of(TaskCreate, "status")
DEFAULT_TASK_PRIORITY: str = default_of(TaskCreate, "priority")
DEFAULT_SESSION_STATUS: str = default_of(SessionCreate, "status")

LEASE_SECONDS = click.IntRange(LEASE_MIN_S, LEASE_MAX_S)
CLAIM_COUNT = click.IntRange(1, CLAIM_NEXT_MAX)
LIST_LIMIT = click.IntRange(1, LIST_LIMIT_MAX)
# 0 shows none, without asking the server.
NOTES_COUNT = click.IntRange(0, NOTES_LIMIT_MAX)
