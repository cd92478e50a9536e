"""The core's vocabulary: statuses, priorities, limits and defaults, defined here only.

REST, MCP, the CLI and the board (through /assets/vocabulary.js) use these names;
the models (models.py) build their fields from them. This module imports nothing
heavy, so the CLI can start fast; wire names (headers, the ETag format) are in
``maestro_mcp.protocol``.
"""

from enum import StrEnum

# Field limits, the one definition REST, MCP, the CLI and the board use (the board
# gets them from /assets/vocabulary.js). Bodies are capped separately at the HTTP edge.
ID_MAX = 100
NAME_MAX = 200
TITLE_MAX = 500
PATH_MAX = 4096
TEXT_MAX = 50_000
PROMPT_MAX = 200_000
AGENT_MAX = 100
LINKS_MAX = 1000
LINKS_PER_CALL_MAX = 100  # tasks an agent links or unlinks in one MCP call
LABEL_MAX = 50
LABELS_MAX = 20
DEPS_MAX = 100
LEASE_MIN_S = 1
LEASE_MAX_S = 24 * 3600
DEFAULT_LEASE_S = 300
CLAIM_NEXT_MAX = 50
NOTE_MAX = 10_000
QUERY_MAX = 200
LIST_LIMIT_MAX = 10_000
IDEMPOTENCY_KEY_MAX = 200
CLAIM_TOKEN_MAX = 200
# A session's progress notes: how many one listing may ask for and gets by default.
NOTES_LIMIT_MAX = 1000
NOTES_LIMIT_DEFAULT = 50
# One page of the log read back (a task's history, a project's activity): how many events
# one may ask for and gets by default, and how many bytes of events it holds at most
# (a page always holds one, however large: a page after it goes on).
HISTORY_LIMIT_MAX = 200
HISTORY_LIMIT_DEFAULT = 50
HISTORY_PAGE_BYTES = 1024 * 1024
# How many of a session's latest notes an agent sees with it (MCP get and resource):
# a model's context is small.
NOTES_SHOWN = 20
# One page of an agent's tool results (MCP list_tasks, changes_since), for the same reason.
PAGE_LIMIT_MAX = 500
PAGE_LIMIT_DEFAULT = 100
# Tasks one planning call creates at most (a batch is one transaction).
TASKS_PER_BATCH_MAX = 100
# Characters of text (titles, descriptions, prompts) one batch may hold: a REST body's 1 MiB.
BATCH_TEXT_MAX = 1_000_000
# A batch's own name for one of its tasks, which the others use before it has an id.
REF_MAX = 100
# An error that says "say which project" or "not found" lists at most this many.
PROJECTS_LISTED_IN_ERRORS = 20
# Messages between sessions and people (service/messages.py): a body's characters, the
# addresses one message names, the recipients they expand to, and one page of a listing.
MESSAGE_MAX = 20_000
ADDRESSES_MAX = 20
RECIPIENTS_MAX = 1000
MESSAGES_LIMIT_DEFAULT = 50
MESSAGES_LIMIT_MAX = 500
# Messages marked read (or acknowledged) in one call.
MESSAGES_PER_CALL_MAX = 100
# An agent's question for the people (service/questions.py): its text, its choices, an
# answer, and how long it may wait for one before its default applies.
QUESTION_MAX = 4000
CHOICES_MAX = 10
CHOICE_MAX = 200
ANSWER_MAX = 4000
QUESTION_WAIT_MAX_S = 7 * 24 * 3600
# Questions one session may have waiting for an answer at once, and one listing's page.
OPEN_QUESTIONS_MAX = 10
QUESTIONS_LIMIT_DEFAULT = 100
QUESTIONS_LIMIT_MAX = 1000
# File reservations (service/reservations.py): the characters of one pattern (a path or
# glob of a project's repository, core/globs.py: room for deep paths, small enough that
# checking a new reservation against every live one stays cheap), the patterns one call
# reserves or releases, and the reservations one session holds at most.
RESERVATION_PATTERN_MAX = 1024
PATTERNS_PER_CALL_MAX = 50
RESERVATIONS_PER_SESSION_MAX = 200
# Levels of sub-tasks the CLI and the board draw indented under their parent; deeper ones
# keep that indent and show their level, so a chain thousands deep stays readable.
TREE_INDENT_LEVELS = 8


class TaskStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class SessionStatus(StrEnum):
    IDLE = "idle"
    WORKING = "working"
    NEEDS_INPUT = "needs_input"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


ENDED_SESSION_STATUSES = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.STOPPED}
)
# The rest, in the enum's order: what `maestro status` lists as active.
ACTIVE_SESSION_STATUSES = tuple(s for s in SessionStatus if s not in ENDED_SESSION_STATUSES)


class ClaimEnd(StrEnum):
    """Why a claim ended (``task:released`` says it as ``reason``)."""

    RELEASED = "released"  # its holder gave it up
    OVERRIDE = "override"  # a person took the task over
    EXPIRED = "expired"  # its lease ran out
    COMPLETED = "completed"  # the task's status ended the work
    CANCELLED = "cancelled"
    PENDING = "pending"
    SESSION_ENDED = "session_ended"
    SESSION_DELETED = "session_deleted"


class QuestionStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"  # by a person, or by its default when its deadline passed
    CANCELLED = "cancelled"  # its session ended before anyone answered


class ReservationEnd(StrEnum):
    """Why a file reservation ended (``reservation:released`` says it as ``reason``)."""

    RELEASED = "released"  # its session gave it up
    OVERRIDE = "override"  # a person released it
    EXPIRED = "expired"  # its lease ran out (no heartbeat)
    CLAIM_ENDED = "claim_ended"  # the claim on the task it was taken with ended
    SESSION_ENDED = "session_ended"
    SESSION_DELETED = "session_deleted"
    TASK_DELETED = "task_deleted"


# Who a message may be addressed to, besides a session id: every person watching the
# project, every active session of one agent (``agent:NAME``), or both (the project).
HUMANS = "humans"
PROJECT_ADDRESS = "project"
AGENT_ADDRESS_PREFIX = "agent:"


# How long a token whose claim ended is remembered, to tell its holder what happened
# (a lease lasts at most a day). An older token is refused all the same, with less said.
ENDED_CLAIMS_KEPT_MS = LEASE_MAX_S * 1000

# What a task or a session is created with when the caller says nothing.
DEFAULT_TASK_STATUS = TaskStatus.PENDING
DEFAULT_TASK_PRIORITY = TaskPriority.MEDIUM
DEFAULT_SESSION_STATUS = SessionStatus.IDLE
