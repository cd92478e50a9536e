"""Races started for real: calls made in threads of their own, released together by a
barrier, so that each reaches the server while the others are on their way (requests to
one server, or to several instances of one database)."""

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .waiting import WAIT

T = TypeVar("T")


def at_once(*calls: Callable[[], T], timeout: float = 3 * WAIT) -> list[T]:
    """Run ``calls`` in threads released together by a barrier; their results in order.
    Fails if one does not come back within ``timeout`` seconds; re-raises the first
    exception one of them raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(WAIT)
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a call did not come back"
    if errors:
        raise errors[0]
    return results
