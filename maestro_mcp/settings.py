"""Everything a Maestro process needs to know, in one immutable value.

``maestro serve``, ``maestro mcp``, the tests and the benchmarks build one
``Settings`` and hand it to the core runtime (core/runtime.py) and the HTTP app;
the defaults here are the documented defaults (README "Configuration").
Importing it is cheap (no pydantic, no database): the CLI reads it at start.
"""

from dataclasses import dataclass
from pathlib import Path

from .core.feed import DEFAULT_MAX_QUEUE, DEFAULT_MAX_QUEUE_BYTES, DEFAULT_POLL_INTERVAL
from .core.storage import Durability

# The names a loopback server answers to (Host header); anything else must be allowed.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_MAX_BODY = 1024 * 1024
# The log keeps its newest events within all three bounds (a client further behind
# refetches): a count, the bytes of their stored envelopes, an age. 0 turns the
# bytes or the age bound off.
DEFAULT_EVENT_RETENTION = 100_000
DEFAULT_EVENT_RETENTION_BYTES = 64 * 1024 * 1024
DEFAULT_EVENT_RETENTION_AGE = 7 * 24 * 3600  # seconds
# The most one write (one REST request, one MCP tool call) may add to the log: the
# UTF-8 JSON of its events' data. Four times the largest body, so a legitimate change
# always fits; a larger one is refused (413) with nothing committed.
DEFAULT_MAX_WRITE_LOG_BYTES = 4 * 1024 * 1024
DEFAULT_PRUNE_INTERVAL = 60.0
DEFAULT_REAP_INTERVAL = 1.0
# The HTTP server's connections (http_api/connections.py). The cap leaves room for
# thousands of live clients (each WebSocket or SSE stream holds one connection).
DEFAULT_MAX_CONNECTIONS = 10_000
# Seconds a client has to send a request's line and headers: slowloris is cut off.
DEFAULT_HEAD_TIMEOUT = 10.0
DEFAULT_MAX_HEAD_BYTES = 64 * 1024
# Seconds an idle connection is kept open between two requests.
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0
# Seconds a client may leave every byte waiting for it unread before it is dropped.
DEFAULT_SEND_TIMEOUT = 30.0
# The change notifications one MCP client may have waiting (the MCP SDK's bound on a
# 2026 listen stream's backlog is the same).
DEFAULT_MCP_MAX_QUEUE = 1024


@dataclass(frozen=True)
class Settings:
    # --- the store -----------------------------------------------------------
    # A SQLite file or a postgresql:// URL (core/storage/location.py).
    database: str | Path
    durability: Durability = Durability.NORMAL
    # The directory Maestro owns and keeps its database in (--data-dir or the per-user
    # default): made and kept 0700 (maestro_mcp/private_files.py). None when the database
    # was named (--db): its directory is the user's.
    data_dir: Path | None = None
    # --- the feed ------------------------------------------------------------
    # How often the feed looks for commits of other processes (seconds).
    poll_interval: float = DEFAULT_POLL_INTERVAL
    # A live client further behind than either bound is cut off (it resumes by seq).
    max_queue: int = DEFAULT_MAX_QUEUE
    max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES
    # --- the runtime's chores --------------------------------------------------
    event_retention: int = DEFAULT_EVENT_RETENTION
    event_retention_bytes: int = DEFAULT_EVENT_RETENTION_BYTES  # 0: no bound
    event_retention_age: int = DEFAULT_EVENT_RETENTION_AGE  # seconds; 0: no bound
    prune_interval: float = DEFAULT_PRUNE_INTERVAL
    reap_interval: float = DEFAULT_REAP_INTERVAL
    # --- the faces -----------------------------------------------------------
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    allowed_origins: tuple[str, ...] = ()
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    max_write_log_bytes: int = DEFAULT_MAX_WRITE_LOG_BYTES  # 0: no bound
    # The project MCP tools use when an agent names none (id or name).
    default_project: str | None = None
    # An MCP client with more change notifications waiting is cut off (docs/mcp.md: A
    # client that stops reading); so is one that takes nothing for send_timeout.
    mcp_max_queue: int = DEFAULT_MCP_MAX_QUEUE
    # --- the HTTP server's connections (http_api/connections.py) -------------------
    # Connections past the cap are answered 503 (a live stream holds one connection).
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # A request's line and headers: within this many seconds, of at most this many bytes.
    head_timeout: float = DEFAULT_HEAD_TIMEOUT
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    send_timeout: float = DEFAULT_SEND_TIMEOUT
