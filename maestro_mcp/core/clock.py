"""Wall-clock time as the API speaks it: integer epoch milliseconds; in messages that
people and agents read, ISO 8601 UTC."""

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso(ms: int) -> str:
    """``1795698794228`` -> ``2026-11-26T14:05:10Z`` (to the second: for reading)."""
    moment = datetime.fromtimestamp(ms / 1000, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")
