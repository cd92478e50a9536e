"""Everything the HTTP app needs to know, in one immutable value."""

from dataclasses import dataclass
from pathlib import Path

from maestro_mcp.core.feed import DEFAULT_MAX_QUEUE, DEFAULT_MAX_QUEUE_BYTES, DEFAULT_POLL_INTERVAL
from maestro_mcp.core.service import DEFAULT_EVENT_RETENTION
from maestro_mcp.core.store import Durability

from .security import LOOPBACK_HOSTS

DEFAULT_MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    db_path: Path
    durability: Durability = Durability.NORMAL
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    allowed_origins: tuple[str, ...] = ()
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    poll_interval: float = DEFAULT_POLL_INTERVAL
    # A live client further behind than either bound is cut off (it resumes by seq).
    max_queue: int = DEFAULT_MAX_QUEUE
    max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES
    event_retention: int = DEFAULT_EVENT_RETENTION
    prune_interval: float = 60.0
    reap_interval: float = 1.0
    # The project MCP tools use when an agent names none (id or name).
    default_project: str | None = None
