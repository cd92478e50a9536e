"""The collector of Maestro's server processes (maestro_mcp/heap.py): tuned as the
process starts, and what it loaded frozen once it has loaded everything, in
``maestro serve`` (after the MCP server's load in the background) and ``maestro mcp``."""

import gc
import sys
import textwrap
from collections.abc import Iterator

import pytest

from maestro_mcp import heap
from tests.support.servers import spawn_until_listening
from tests.support.waiting import WAIT, wait_for


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
        heap.OLDER_COLLECTIONS,
        heap.OLDER_COLLECTIONS,
    )
    assert heap.YOUNG_COLLECTION > 700  # CPython's default


def test_settle_leaves_what_is_alive_out_of_later_collections(collector: None) -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    heap.settle()
    assert gc.get_freeze_count() > 0
    frozen = gc.get_freeze_count()
    del cycle  # garbage now, but frozen: no collection frees it
    gc.collect()
    assert gc.get_freeze_count() == frozen


# ``maestro serve`` itself, saying what its collector looks like once it settled.
PROBE = textwrap.dedent(
    """
    import gc, sys
    from maestro_mcp import heap
    settle = heap.settle

    def settled():
        settle()
        loaded = "mcp" in sys.modules
        print(f"settled: {gc.get_threshold()} frozen {gc.get_freeze_count() > 0} "
              f"mcp loaded {loaded}", file=sys.stderr, flush=True)

    heap.settle = settled
    from maestro_mcp.cli.main import main
    main()
    """
)


def test_serve_tunes_the_collector_and_settles_once_the_mcp_server_loaded(
    database: str,
) -> None:
    server = spawn_until_listening(
        [sys.executable, "-c", PROBE, "serve", "--port", "0", "--db", database]
    )
    try:
        wait_for(lambda: any("settled:" in line for line in server.log), WAIT, what="settle")
        expected = (heap.YOUNG_COLLECTION, heap.OLDER_COLLECTIONS, heap.OLDER_COLLECTIONS)
        assert f"settled: {expected} frozen True mcp loaded True\n" in server.log
    finally:
        assert server.terminate() == 0
