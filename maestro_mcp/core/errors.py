"""Domain errors. Each face (REST, MCP, CLI) maps them to its own error shape.

``code`` is a stable machine-readable string; ``message`` is for humans and
agents and says what to do next where there is something to do.
"""

from typing import Any

from .models import Entity


class MaestroError(Exception):
    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.seq: int | None = None  # set by the service: the log head this error was seen at


class NotFound(MaestroError):
    code = "not_found"


class InvalidInput(MaestroError):
    """Input that parses but breaks a rule of the domain (e.g. a task in another project)."""

    code = "validation_error"


class NoProjectYet(InvalidInput):
    """A project was needed and none exists: create one first."""

    code = "no_project"


class Conflict(MaestroError):
    """The request contradicts the current state (e.g. a task another session holds)."""

    code = "conflict"


class NameTaken(Conflict):
    """Another project has this name already: use it, or say a second one is wanted."""

    code = "name_taken"


class ClaimConflict(Conflict):
    """The task is claimed by another session, or the claim token does not match."""

    code = "claim_conflict"


class ClaimLost(Conflict):
    """The claim token presented no longer holds the task: its lease expired, it was
    released or overridden, or the task was claimed again. The message says which, and
    when; the holder must claim the task again before it goes on."""

    code = "claim_lost"


class ReservationConflict(Conflict):
    """Files asked for are reserved by another session: the message names who holds
    which pattern and until when."""

    code = "reservation_conflict"


class AlreadyAnswered(Conflict):
    """A question that is no longer open (answered, by a person or its default, or
    cancelled) cannot be answered again."""

    code = "already_answered"


class NotReady(Conflict):
    """A claim asked for a task that is not ready (not pending, or waiting on others)."""

    code = "not_ready"


class VersionConflict(MaestroError):
    """``expected_version`` did not match: the caller read a state that has since changed."""

    code = "version_conflict"

    def __init__(self, current: Entity, expected: int) -> None:
        kind = type(current).__name__.lower()
        super().__init__(
            f"{kind} {current.id} is at version {current.version}, not {expected}: "
            "it changed since you read it; re-read it and apply your change again",
            details={"current": current.model_dump(mode="json", by_alias=True)},
        )
        self.current = current
        self.expected = expected


class IdempotencyKeyReused(MaestroError):
    code = "idempotency_key_reused"


class TooLarge(MaestroError):
    """The request is larger than a bound allows: its body, or the events the change
    would add to the log (split it into smaller changes)."""

    code = "payload_too_large"
