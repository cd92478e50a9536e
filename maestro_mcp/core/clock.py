"""Wall-clock time as the API speaks it: integer epoch milliseconds."""

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
