"""How the walks over parent links and dependencies grow with a chain's depth: each
walk at ``DEPTH`` is timed against the same walk at ``DEPTH // 8`` on the same database
(the service itself, no HTTP). Linear makes the ratio about 8, quadratic 64.

tests/security/test_deep_chains.py proves that each walk answers at depth 5,000; how
fast it answers is measured here, where timings belong, not asserted in a test.
"""

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from maestro_mcp.core.errors import MaestroError
from maestro_mcp.core.models import TaskPatch
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage.location import open_store
from tests.support.bulk import Bulk

DEPTH = 5_000
SHALLOW = DEPTH // 8
RUNS = 3  # each walk's fastest of this many counts


@dataclass(frozen=True)
class _Chains:
    nested: list[str]  # each a sub-task of the one before
    steps: list[str]  # each depending on the one before
    subtrees: list[list[str]]  # RUNS chains to delete, each task waiting on its parent


def _fastest(walks: list[Callable[[], object]]) -> float:
    took = []
    for walk in walks:
        began = time.perf_counter()
        with contextlib.suppress(MaestroError):  # a cycle refused: that is the walk
            walk()
        took.append(time.perf_counter() - began)
    return min(took)


def measure(database: str | Path, *, depth: int = DEPTH) -> dict[str, tuple[float, float]]:
    """Seconds at depth // 8 and at depth, per walk (the fastest of ``RUNS``)."""
    shallow = depth // 8
    bulk = Bulk()
    made: dict[int, _Chains] = {}
    for level in (shallow, depth):
        project = bulk.project(f"depth {level}")
        nested = bulk.chain(project, level, "nested")
        steps = bulk.steps(project, level)
        subtrees = [bulk.chain(project, level, f"subtree {n}") for n in range(RUNS)]
        for chain in subtrees:
            for parent, child in itertools.pairwise(chain):
                bulk.depend(child, parent)
        made[level] = _Chains(nested, steps, subtrees)
    bulk.load(str(database))
    store = open_store(database)
    try:
        service = Service(store)
        took: dict[str, dict[int, float]] = {}
        for level, chains in made.items():
            top, bottom = chains.nested[0], chains.nested[-1]
            nest = partial(service.update_task, top, TaskPatch(parent_id=bottom))
            first, last = chains.steps[0], chains.steps[-1]
            loop = partial(service.update_task, first, TaskPatch(depends_on=[last]))
            drops = [partial(service.delete_task, chain[0]) for chain in chains.subtrees]
            for walk, calls in (
                ("parent cycle check", [nest] * RUNS),
                ("dependency cycle check", [loop] * RUNS),
                ("sub-task deletion", drops),
            ):
                took.setdefault(walk, {})[level] = _fastest(list(calls))
        return {walk: (t[shallow], t[depth]) for walk, t in took.items()}
    finally:
        store.close()
