"""bench/globs.py stays runnable: a small run of every case (no timing is asserted)."""

import random

from bench import globs
from maestro_mcp.core.globs import normalize


def test_a_small_run_measures_every_case() -> None:
    measured = globs.measure(pairs=20, runs=1)
    assert len(measured) == 7
    assert all(ms >= 0 for ms in measured.values())


def test_the_reservations_are_canonical_patterns() -> None:
    """The cases time checks of stored (canonical) patterns, not their reading errors."""
    rng = random.Random(1)
    for pattern in globs.reservations(rng, 200, "t"):
        assert normalize(pattern) == pattern
