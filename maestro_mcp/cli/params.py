"""Option types and defaults built from the core's vocabulary.

The CLI defines no status, priority, default or limit of its own: each comes from
``maestro_mcp.core.vocabulary``, so ``--help``, the shell's validation and the server
always agree (tests/cli/test_vocabulary.py checks it).
"""

import re
from enum import StrEnum
from typing import Any

import click

from maestro_mcp.core.vocabulary import (
    CLAIM_NEXT_MAX,
    DEFAULT_SESSION_STATUS,
    DEFAULT_TASK_PRIORITY,
    DEFAULT_TASK_STATUS,
    LEASE_MAX_S,
    LEASE_MIN_S,
    LIST_LIMIT_MAX,
    NOTES_LIMIT_MAX,
    SessionStatus,
    TaskPriority,
    TaskStatus,
)


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
# 0 shows none, without asking the server.
NOTES_COUNT = click.IntRange(0, NOTES_LIMIT_MAX)


# --- sizes and durations (the log's bounds) --------------------------------------------

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_AMOUNT = re.compile(r"\s*([0-9]+)\s*([a-zA-Z]*)\s*")


def size_text(size: int) -> str:
    """A byte count as the options take it: the largest binary unit it is a whole of."""
    for unit in ("GiB", "MiB", "KiB"):
        scale = _SIZE_UNITS[unit.lower()]
        if size and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def duration_text(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        scale = _DURATION_UNITS[unit]
        if seconds and seconds % scale == 0:
            return f"{seconds // scale}{unit}"
    return f"{seconds}s"


class _Amount(click.ParamType[int]):
    units: dict[str, int]
    example: str

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _AMOUNT.fullmatch(str(value))
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in self.units:
            self.fail(f"{value!r} is not a {self.name} (e.g. {self.example}; 0: no bound)")
        return int(match.group(1)) * self.units[unit]


class ByteSize(_Amount):
    """Bytes: a number, or with a unit (KB, MB, GB; KiB, MiB, GiB)."""

    name = "size"
    units = _SIZE_UNITS
    example = "64MiB, 500MB, 1048576"


class Duration(_Amount):
    """Seconds: a number, or with a unit (s, m, h, d)."""

    name = "duration"
    units = _DURATION_UNITS
    example = "7d, 12h, 30m, 90s"


BYTE_SIZE = ByteSize()
DURATION = Duration()
