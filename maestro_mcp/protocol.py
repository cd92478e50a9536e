"""The wire vocabulary Maestro's faces share: HTTP headers, the ETag format, the token
query parameter, the MCP endpoint's path and the WebSocket close codes
(docs/protocol.md describes them).

Rule: these names and formats are defined here only. The REST edge (http_api), the
CLI's client and the board's server side import them instead of writing them out;
statuses, priorities, limits and id prefixes live in ``maestro_mcp.core`` instead.

Header names are written in their canonical case. HTTP compares them without case,
so read them through a case-insensitive mapping (Starlette's and httpx's headers are).
"""

import re

# --- headers ---------------------------------------------------------------------------

# Every response: the seq of a write's last event, or the seq a read is consistent with.
SEQ_HEADER = "X-Maestro-Seq"
ETAG_HEADER = "ETag"
IF_MATCH_HEADER = "If-Match"
IF_NONE_MATCH_HEADER = "If-None-Match"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# On the answer to a retried write: ``true``, the first result is returned again.
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
CLAIM_TOKEN_HEADER = "X-Claim-Token"
# A person overrides the coordination rules: another session's claim, unfinished dependencies.
OVERRIDE_HEADER = "X-Override"
AUTHORIZATION_HEADER = "Authorization"
LAST_EVENT_ID_HEADER = "Last-Event-ID"
RETRY_AFTER_HEADER = "Retry-After"
# The MCP session a streamable HTTP request belongs to (the MCP specification's header).
MCP_SESSION_ID_HEADER = "Mcp-Session-Id"
# A REST or feed client names itself (as an MCP client does with ``clientInfo.name``):
# the actor of its writes is then ``<token name>/<client>`` (core/access.py
# ``actor_name``, which also says how a value is shown: printable, no ``/``, at most
# ``CLIENT_NAME_MAX`` characters; one with nothing left names no client). UTF-8.
CLIENT_HEADER = "X-Maestro-Client"
# The names Maestro's own clients send in it.
CLI_CLIENT = "cli"
BOARD_CLIENT = "board"
# Seconds a client waits before retrying when the database is out of reach (503).
RETRY_AFTER_UNAVAILABLE_S = 1
# Seconds a client waits before retrying when the server holds all the connections it
# may (503 over_capacity): long enough for live clients elsewhere to come and go.
RETRY_AFTER_OVER_CAPACITY_S = 5

# The value flag headers (Idempotent-Replayed, X-Override) are sent with.
TRUE = "true"
# What a flag header may say to mean yes, as read (case-insensitive).
_TRUE_VALUES = frozenset({"1", "true", "yes"})

# --- paths -----------------------------------------------------------------------------

# The MCP endpoint of ``maestro serve`` (streamable HTTP), without a trailing slash.
MCP_PATH = "/mcp"
# The live feeds: WebSocket, and Server-Sent Events.
WS_PATH = "/ws"
EVENTS_PATH = "/api/events"
# The REST API for named tokens (admin only).
TOKENS_PATH = "/api/tokens"
# Who a request acts as: its actor name (what the events it makes say) and scope.
ME_PATH = "/api/me"
# Which of a commit's files other sessions hold (the pre-commit guard asks): a POST, as
# the paths do not fit in a URL, but a read: a read token may use it (http_api/security.py).
RESERVATIONS_CHECK_PATH = "/api/projects/{id}/reservations/check"

# --- authentication --------------------------------------------------------------------

BEARER_SCHEME = "Bearer"
# Browsers cannot set headers on WebSocket or EventSource requests: they send the
# token as this query parameter instead. Only the live feeds (WS_PATH, EVENTS_PATH)
# accept it: everywhere else a header is possible, and URLs end up in logs and history.
TOKEN_QUERY = "token"
WWW_AUTHENTICATE_HEADER = "WWW-Authenticate"
# The log history a client's seqs belong to (sync:ready's epoch), sent back on resume.
EPOCH_QUERY = "epoch"

# --- versions and seqs -----------------------------------------------------------------

# Seqs and versions: ASCII digits only (str.isdigit() takes "²"), small enough for SQLite.
SMALL_INT = re.compile(r"[0-9]{1,18}")
SEQ_MAX = 10**18 - 1  # the largest SMALL_INT: a seq a query may name

# --- WebSocket close codes -------------------------------------------------------------

CLOSE_GOING_AWAY = 1001  # the server shuts down: reconnect with `since`
CLOSE_POLICY_VIOLATION = 1008  # refused (Host, Origin, token; a message nested too deeply)
CLOSE_TRY_AGAIN_LATER = 1013  # cut off for falling behind: reconnect with `since`
CLOSE_RESET = 4000  # `since` cannot be resumed: refetch, then reconnect


def bearer(token: str) -> str:
    """The ``Authorization`` value carrying ``token``."""
    return f"{BEARER_SCHEME} {token}"


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization`` value, None if it carries no bearer token."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != BEARER_SCHEME.lower():
        return None
    return token.strip() or None


def etag(version: int) -> str:
    """An entity version as its ETag: strong and quoted, ``3`` -> ``"3"``."""
    return f'"{version}"'


# An entity-tag (RFC 9110, 8.8.3): W/ for a weak one, then a quoted opaque value.
ENTITY_TAG = r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*'
_ENTITY_TAG = re.compile(ENTITY_TAG)
# The version an If-Match none of whose entity-tags is ours asks for: no entity has it
# (versions start at 1), so the precondition fails (412), as RFC 9110 says it must.
NO_VERSION = 0


def _entity_tags(value: str) -> list[tuple[bool, str]] | None:
    """Each entity-tag of a comma-separated list as (weak, opaque value); None if the
    value is not such a list."""
    tags: list[tuple[bool, str]] = []
    for part in value.split(","):
        match = _ENTITY_TAG.fullmatch(part)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
    return tags


def if_match_version(value: str | None) -> int | None:
    """The version an ``If-Match`` value asks for, None if it asks for none.

    Accepts our ETag (``"3"``), a bare number (``3``) and a list of entity-tags naming at
    most one of our versions; ``*`` or no header means any version. Entity-tags that are
    not ours (``"some-etag"``) ask for ``NO_VERSION``: the precondition fails. So does a
    weak one (``W/"3"``): If-Match compares strongly (RFC 9110, 13.1.1), and a weak tag
    never matches. Anything that is not an entity-tag, and a list naming several
    versions, raise ValueError.
    """
    if value is None or value.strip() == "*":
        return None
    text = value.strip()
    if SMALL_INT.fullmatch(text):
        return int(text)
    tags = _entity_tags(text)
    if tags is None:
        raise ValueError(f'If-Match must be an ETag such as "3", got {value!r}')
    ours = {int(tag) for weak, tag in tags if not weak and SMALL_INT.fullmatch(tag)}
    if len(ours) > 1:
        raise ValueError(f"If-Match may name one version of the entity, got {value!r}")
    return ours.pop() if ours else NO_VERSION


def if_none_match(value: str | None, version: int) -> bool:
    """Whether an ``If-None-Match`` value matches the entity at ``version``: ``*``, or an
    entity-tag of that version, weak or strong (RFC 9110's weak comparison). A value
    that is not a list of entity-tags matches nothing."""
    if value is None:
        return False
    if value.strip() == "*":
        return True
    tags = _entity_tags(value)
    return tags is not None and any(tag == str(version) for _, tag in tags)


def is_true(value: str | None) -> bool:
    """Whether a flag header says yes."""
    return value is not None and value.strip().lower() in _TRUE_VALUES


def parse_seq(value: str | None) -> int | None:
    """A seq sent as text (the ``X-Maestro-Seq`` header), None if absent or not one."""
    return int(value) if value and SMALL_INT.fullmatch(value) else None
