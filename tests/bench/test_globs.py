"""bench/globs.py stays runnable: a small run of every case (no timing is asserted)."""

import random

from bench import globs
from maestro_mcp.core.globs import normalize, overlaps


def test_a_small_run_measures_every_case() -> None:
    measured = globs.measure(pairs=20, runs=1)
    assert len(measured) == 10
    assert all(ms >= 0 for ms in measured.values())


def test_the_reservations_are_canonical_patterns() -> None:
    """The cases time checks of stored (canonical) patterns, not their reading errors."""
    rng = random.Random(1)
    for pattern in globs.reservations(rng, 200, "t"):
        assert normalize(pattern) == pattern


def test_the_spread_pairs_overlap_half_the_time_as_said() -> None:
    """The ``**`` case times what its docstring says: canonical patterns, overlapping or
    not as asked, decided by the product (no end of either pattern decides it)."""
    rng = random.Random(2)
    for overlapping in (True, False, True, False):
        spread, names = globs._spread(rng, overlapping)
        assert (normalize(spread), normalize(names)) == (spread, names)
        assert overlaps(spread, names) is overlapping
        assert spread.startswith("**/")
        assert spread.endswith("/**")


def test_the_guard_check_case_finds_what_every_pair_finds() -> None:
    """The index the guard's check goes through covers the same files as matching every
    path against every pattern, on the bench's own reservations and commit."""
    rng = random.Random(3)
    live = globs.reservations(rng, 300, "t")
    paths = globs.commit_paths(rng, 600, "t")
    found = globs._guard_check(live, paths)
    assert found == globs._every_pair(live, paths)
    assert found > 0
