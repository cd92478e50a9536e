"""The CLI's choices, defaults and bounds are the core's, read from the click commands."""

from collections.abc import Collection, Iterator
from enum import StrEnum

import click
import pytest

from maestro_mcp.cli.main import cli
from maestro_mcp.cli.output import PRIORITY_STYLE, SESSION_STATUS_STYLE, TASK_STATUS_STYLE
from maestro_mcp.core.models import (
    CLAIM_NEXT_MAX,
    DEFAULT_LEASE_S,
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    LEASE_MAX_S,
    LEASE_MIN_S,
    LIST_LIMIT_MAX,
    MESSAGES_LIMIT_DEFAULT,
    MESSAGES_LIMIT_MAX,
    NOTES_LIMIT_MAX,
    QUESTIONS_LIMIT_MAX,
    QuestionFilter,
    SessionCreate,
    SessionStatus,
    TaskCreate,
    TaskPriority,
    TaskStatus,
)
from maestro_mcp.protocol import SEQ_MAX

# Every bounded integer option of the CLI and the core's limits it must keep to.
BOUNDS = {
    ("task", "claim", "lease"): (LEASE_MIN_S, LEASE_MAX_S),
    ("task", "next", "lease"): (LEASE_MIN_S, LEASE_MAX_S),
    ("session", "heartbeat", "lease"): (LEASE_MIN_S, LEASE_MAX_S),
    ("task", "next", "count"): (1, CLAIM_NEXT_MAX),
    ("task", "list", "limit"): (1, LIST_LIMIT_MAX),
    ("session", "get", "notes"): (0, NOTES_LIMIT_MAX),
    ("task", "history", "limit"): (1, HISTORY_LIMIT_MAX),
    ("task", "history", "before"): (1, SEQ_MAX),  # a seq, as the API takes it
    ("msg", "inbox", "limit"): (1, MESSAGES_LIMIT_MAX),
    ("question", "list", "limit"): (1, QUESTIONS_LIMIT_MAX),
    ("serve", "", "port"): (0, 65_535),  # TCP's, not Maestro's
}
# Every option with a fixed set of values and the core enum it must offer.
CHOICES: dict[tuple[str, str, str], type[StrEnum]] = {
    ("task", "create", "status"): TaskStatus,
    ("task", "list", "status"): TaskStatus,
    ("task", "update", "status"): TaskStatus,
    ("task", "create", "priority"): TaskPriority,
    ("task", "update", "priority"): TaskPriority,
    ("session", "create", "status"): SessionStatus,
    ("session", "list", "status"): SessionStatus,
    ("session", "update", "status"): SessionStatus,
}


def options() -> Iterator[tuple[tuple[str, str, str], click.Option]]:
    """Each option of each client command, as ((group, command, option name), option)."""
    for group_name, group in cli.commands.items():
        commands = group.commands if isinstance(group, click.Group) else {"": group}
        for command_name, command in commands.items():
            for param in command.params:
                if isinstance(param, click.Option) and param.name:
                    yield (group_name, command_name, param.name), param


def test_every_choice_is_a_core_enum_in_its_order() -> None:
    found = {key: o for key, o in options() if isinstance(o.type, click.Choice)}
    # --durability (serve, mcp) is the store's own enum; agent-config names agents.
    found = {key: o for key, o in found.items() if key[2] in ("status", "priority")}
    assert set(found) == set(CHOICES)
    for key, option in found.items():
        assert isinstance(option.type, click.Choice)
        assert list(option.type.choices) == [m.value for m in CHOICES[key]], key


def test_defaults_are_the_servers() -> None:
    found = dict(options())
    assert found["task", "create", "status"].default == TaskCreate.model_fields["status"].default
    assert (
        found["task", "create", "priority"].default == TaskCreate.model_fields["priority"].default
    )
    assert (
        found["session", "create", "status"].default == SessionCreate.model_fields["status"].default
    )
    assert found["task", "claim", "lease"].default == DEFAULT_LEASE_S
    assert found["task", "next", "lease"].default == DEFAULT_LEASE_S
    assert found["task", "history", "limit"].default == HISTORY_LIMIT_DEFAULT
    assert found["msg", "inbox", "limit"].default == MESSAGES_LIMIT_DEFAULT
    questions_default = QuestionFilter.model_fields["limit"].default
    assert found["question", "list", "limit"].default == questions_default


def test_every_bounded_integer_is_a_core_limit() -> None:
    found = {
        key: o
        for key, o in options()
        if isinstance(o.type, click.IntRange) and o.type.max is not None
    }
    assert set(found) == set(BOUNDS)
    for key, option in found.items():
        assert isinstance(option.type, click.IntRange)
        assert (option.type.min, option.type.max) == BOUNDS[key], key


@pytest.mark.parametrize(
    ("styles", "enum"),
    [
        (TASK_STATUS_STYLE, TaskStatus),
        (SESSION_STATUS_STYLE, SessionStatus),
        (PRIORITY_STYLE, TaskPriority),
    ],
)
def test_every_value_has_a_style(styles: Collection[str], enum: type[StrEnum]) -> None:
    assert set(styles) == set(enum)
