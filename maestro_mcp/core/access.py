"""Who may do what, and who did it: scopes, principals, token secrets and actors.

Rules:

- A **scope** is ``read`` (GETs and the live feeds), ``write`` (everything an agent
  or a person does) or ``admin`` (also manages tokens and deletes projects); each
  allows what the ones before it allow.
- A **principal** is who a request acts as: a named token's name and scope; the
  server's own ``--token`` (``SERVER_TOKEN``, an admin); or ``LOCAL``, anyone on a
  token-less loopback server, which has never needed a token and may do everything.
- A named token's **secret** is random (256 bits), shown once when it is made and
  stored only as its SHA-256: a leaked database leaks no usable token. A slow hash
  would add nothing for a secret this long, and cost every request.
- Every write names its **actor** (``actor_name``): the principal's name, and the name
  its client gives itself where it gives one (``alice/claude-code``: an MCP client's
  ``clientInfo.name``; ``local/cli``: a REST client's ``X-Maestro-Client``), shown the
  same way whichever face it came through. It is in every event's envelope, so every
  face shows who did what; a secret never is. The server's own chores (the
  lease reaper, the pruner) act as ``SYSTEM``.
- A write learns its actor from ``acting``: ``Core.write`` runs every operation inside
  it, and the transaction reads ``current_actor`` when it appends the events.
"""

import hashlib
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: "Scope") -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    scope: Scope


# Anyone on a loopback server that has no token at all.
LOCAL = Principal("local", Scope.ADMIN)
# Whoever presents the server's own token (--token, MAESTRO_TOKEN, --token-file).
SERVER_TOKEN = Principal("admin", Scope.ADMIN)
# The server's chores: leases that ran out, retention.
SYSTEM = "maestro"
# Names a named token may not take: they already mean someone.
RESERVED_NAMES = frozenset({LOCAL.name, SERVER_TOKEN.name, SYSTEM})

# A token name: what events, logs and the board show as the actor.
TOKEN_NAME_MAX = 64
TOKEN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_TOKEN_NAME = re.compile(TOKEN_NAME_PATTERN)
# Secrets start with this, so that secret scanners (and people) recognise them.
SECRET_PREFIX = "mst_"
# A client's name (MCP's clientInfo.name, REST's X-Maestro-Client) as an actor shows
# it: printable, short.
CLIENT_NAME_MAX = 64


def is_token_name(name: str) -> bool:
    return len(name) <= TOKEN_NAME_MAX and _TOKEN_NAME.fullmatch(name) is not None


_SECRET_BYTES = 32
# What new_secret makes: the prefix, then 43 characters of urlsafe base64.
_SECRET = re.compile(rf"{SECRET_PREFIX}[A-Za-z0-9_-]{{43}}")


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` could be a named token's secret: one that cannot is refused
    without a look in the database."""
    return _SECRET.fullmatch(text) is not None


def secret_hash(secret: str) -> str:
    """What the store keeps of a secret, and looks it up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def actor_name(principal: Principal, client: str | None = None) -> str:
    """``alice``, or ``alice/claude-code`` for a client that said its name. The name is
    trimmed, each character that is not printable (controls, line breaks, bidi marks)
    or is ``/`` (the actor's one separator, after the principal) becomes ``_``, and it
    is cut to ``CLIENT_NAME_MAX`` characters; a name that is empty once trimmed is no
    name. Never refused: a client's name is what it says of itself, not who it is."""
    if not client:
        return principal.name
    shown = "".join(c if c.isprintable() and c != "/" else "_" for c in client.strip())
    return f"{principal.name}/{shown[:CLIENT_NAME_MAX]}" if shown else principal.name


_ACTOR: ContextVar[str] = ContextVar("maestro_actor", default=SYSTEM)


def current_actor() -> str:
    """The actor of the write running now (``SYSTEM`` outside of ``acting``)."""
    return _ACTOR.get()


def acting(actor: str, operation: Callable[[], T]) -> T:
    """Run ``operation`` with ``actor`` as its actor."""
    token = _ACTOR.set(actor)
    try:
        return operation()
    finally:
        _ACTOR.reset(token)


# Where the HTTP edge keeps the principal of a request (its ASGI scope), for the faces
# behind it (REST handlers, the MCP server's tools).
PRINCIPAL_KEY = "maestro.principal"
