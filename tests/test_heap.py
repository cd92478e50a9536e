"""The collector of Maestro's server processes (maestro_mcp/heap.py): tuned as the
process starts, and what it loaded frozen before it serves anything, in ``maestro
serve`` (before it listens) and ``maestro mcp`` (before it reads a message)."""

import gc
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Iterator

import pytest

from maestro_mcp import heap
from tests.support.servers import spawn_until_listening
from tests.support.waiting import WAIT


@pytest.fixture
def collector() -> Iterator[None]:
    """This test process's collector as it was, afterwards."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_collects_young_objects_less_often(collector: None) -> None:
    heap.tune()
    assert gc.get_threshold() == (
        heap.YOUNG_COLLECTION,
        heap.MIDDLE_COLLECTION,
        heap.FULL_COLLECTION,
    )
    assert heap.YOUNG_COLLECTION > 700  # CPython's default
    # Short middle collections, and full ones looked at no more often than with the
    # (20, 20) they replaced (a generation is collected once its count passes its
    # threshold; CPython's own (10, 10) looks at a full one every 132 collections).
    assert heap.MIDDLE_COLLECTION < 10
    collections_per_full = (heap.MIDDLE_COLLECTION + 2) * (heap.FULL_COLLECTION + 1)
    assert collections_per_full >= (20 + 2) * (20 + 1)


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settle_collects_garbage_then_freezes_what_is_alive(collector: None) -> None:
    garbage = weakref.ref(_Node())
    alive = _Node()
    heap.settle()
    assert garbage() is None  # collected before the freeze: not kept for good
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept = weakref.ref(alive)
    del alive  # garbage now, but frozen: no collection frees it
    gc.collect()
    assert kept() is not None
    assert gc.get_freeze_count() == frozen


# A Maestro command that says, on stderr, when it settles and what its collector is.
PROBE = textwrap.dedent(
    """
    import asyncio, gc, sys
    from maestro_mcp import heap
    settle = heap.settle

    def settled():
        settle()
        serving = asyncio._get_running_loop() is not None
        print(f"settled: {gc.get_threshold()} frozen {gc.get_freeze_count() > 0} "
              f"serving {serving}", file=sys.stderr, flush=True)

    heap.settle = settled
    from maestro_mcp.cli.main import main
    main()
    """
)
TUNED = (heap.YOUNG_COLLECTION, heap.MIDDLE_COLLECTION, heap.FULL_COLLECTION)
SETTLED = f"settled: {TUNED} frozen True serving False\n"


def test_serve_tunes_the_collector_and_settles_before_it_listens(database: str) -> None:
    server = spawn_until_listening(
        [sys.executable, "-c", PROBE, "serve", "--port", "0", "--db", database]
    )
    try:
        settles = [line for line in server.log if line.startswith("settled:")]
        assert settles == [SETTLED]  # once, before an event loop runs
        settled = server.log.index(SETTLED)
        listening = next(n for n, line in enumerate(server.log) if "listening on" in line)
        assert settled < listening
        with server.client() as http:  # and never again, once it serves
            assert http.get("/health").status_code == 200
    finally:
        assert server.terminate() == 0
    assert [line for line in server.log if line.startswith("settled:")] == [SETTLED]


def test_the_stdio_server_tunes_the_collector_and_settles_before_it_serves(
    database: str,
) -> None:
    stdio = subprocess.run(
        [sys.executable, "-c", PROBE, "mcp", "--db", database],
        input=b"",  # no message: it ends at once, having settled
        capture_output=True,
        timeout=WAIT,
    )
    settles = [line for line in stdio.stderr.decode().splitlines(True) if "settled:" in line]
    assert settles == [SETTLED], stdio.stderr.decode()
