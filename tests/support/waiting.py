"""How long anything that should happen promptly may take, and waiting for it."""

import time
from collections.abc import Callable

WAIT = 10.0  # upper bound for anything that should happen promptly


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    """Return as soon as ``predicate()`` holds (checked every 5 ms); raise
    ``AssertionError`` naming ``what`` if it still does not after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
