"""What checking a file reservation against a project's live ones costs
(maestro_mcp/core/globs.py), in process, in ms per 1,000 pairs of patterns.

    python -m bench.globs

- *one against 1,000, cold*: a new pattern against 1,000 live ones, every pattern new to
  the process (fresh names each run), so nothing about it is memoized yet, not even its
  reading (as after a restart); segments a repository repeats (``src``, ``tests``,
  ``*.py``) are, as in a server up for a while. Every case below is cold too;
- *the same, warm*: the same check again;
- *30 segments*: patterns of 30 segments with a wildcard in most, each pair agreeing up
  to the last segment, so every segment pair is intersected: one new pattern against
  1,000 live ones that were read before (as a stored reservation was, when it was made),
  and 1,000 pairs of new ones (their reading included);
- *segments of 200 characters*: one long segment each, a wildcard (``*``, ``?``, a class)
  before every letter, ending in different letters: the product over characters at
  a size no real pattern reaches;
- *``*a*a*a*a*a*a*a*b`` against names of 1,000 characters*, by ``overlaps`` (cold) and by
  ``matches`` (warm: the pattern is read once): a backtracking matcher would not finish
  one.

Each figure is the fastest of ``runs``, in CPU time (the check is CPU-bound and single
threaded; on a shared machine, wall time measures the neighbours). Timings belong here,
not in the tests (tests/core/test_globs.py checks only that nothing grows exponentially).
"""

import random
import time
from collections.abc import Callable

from maestro_mcp.core.globs import matches, normalize, overlaps

PAIRS = 1000
RUNS = 5

_TOPS = ["src", "tests", "docs", "web", "scripts", "infra", "packages"]
_EXTENSIONS = ["py", "ts", "tsx", "md", "json", "yaml", "sql"]
_BAIT = "*a*a*a*a*a*a*a*b"

Pairs = list[tuple[str, str]]


def reservations(rng: random.Random, count: int, tag: str) -> list[str]:
    """``count`` patterns shaped like agents' reservations in a mid-sized repository;
    ``tag`` makes their names new to the process. Canonical already (as stored)."""
    made = []
    for _ in range(count):
        top = rng.choice(_TOPS)
        package = f"{tag}pkg{rng.randrange(40)}"
        module = f"mod{rng.randrange(60)}"
        extension = rng.choice(_EXTENSIONS)
        shapes = [
            f"{top}/{package}/{module}",
            f"{top}/{package}/{module}/file{rng.randrange(50)}.{extension}",
            f"{top}/{package}/*.{extension}",
            f"tests/{package}/test_{module}*.py",
            f"{top}/**/{module}/*.{extension}",
            f"**/*.{tag}lock",
            f"web/**/components/{module.title()}*.tsx",
            f"{top}/{package}[0-9]/**",
        ]
        made.append(rng.choice(shapes))
    return made


def _deep(rng: random.Random, tag: str) -> str:
    shapes = ["d{}", "d{}*", "?{}", "[d]{}", "*{}"]
    segments = [rng.choice(shapes).format(n) for n in range(29)]
    return "/".join([*segments, f"{tag}{rng.randrange(1000)}*.py"])


def _long_segment(rng: random.Random, last: str) -> str:
    steps = "".join(rng.choice(["*", "[ab]", "?"]) + rng.choice("ab") for _ in range(66))
    return steps + last


def _fastest(check: Callable[[], object], runs: int) -> float:
    """ms of the fastest of ``runs`` calls of ``check`` (after the first, memos are warm)."""
    took = []
    for _ in range(runs):
        began = time.process_time()
        check()
        took.append(time.process_time() - began)
    return min(took) * 1000


def _fastest_cold(make: Callable[[int], Pairs], runs: int) -> float:
    """ms of the fastest of ``runs`` checks of ``make(run)``: new pairs each run."""
    took = []
    for run in range(runs):
        pairs = make(run)
        began = time.process_time()
        for a, b in pairs:
            overlaps(a, b)
        took.append(time.process_time() - began)
    return min(took) * 1000


def measure(pairs: int = PAIRS, runs: int = RUNS) -> dict[str, float]:
    """ms per ``pairs`` pairs (or paths) for each case."""
    rng = random.Random(15)

    def one_against_live(run: int) -> Pairs:
        new = reservations(rng, 1, f"n{run}")[0]
        return [(new, other) for other in reservations(rng, pairs, f"c{run}")]

    def deep_against_live(run: int) -> Pairs:
        new = _deep(rng, f"y{run}")
        live = [_deep(rng, f"y{run}") for _ in range(pairs)]
        for pattern in live:
            normalize(pattern)  # read when it was reserved
        return [(new, other) for other in live]

    def deep(run: int) -> Pairs:
        return [(_deep(rng, f"x{run}"), _deep(rng, f"x{run}")) for _ in range(pairs)]

    def long_segments(run: int) -> Pairs:
        return [(_long_segment(rng, "c"), _long_segment(rng, "d")) for _ in range(pairs)]

    def bait(run: int) -> Pairs:
        return [(_BAIT, "".join(rng.choices("ab", k=1000))) for _ in range(pairs)]

    warm = one_against_live(runs)
    names = [name for _, name in bait(runs)]
    return {
        "one against 1,000, cold": _fastest_cold(one_against_live, runs),
        "one against 1,000, warm": _fastest(lambda: [overlaps(a, b) for a, b in warm], runs),
        "30 segments, one against 1,000": _fastest_cold(deep_against_live, runs),
        "30 segments, 1,000 new pairs": _fastest_cold(deep, runs),
        "segments of 200 characters, cold": _fastest_cold(long_segments, runs),
        "*a*a*a*a*a*a*a*b, overlaps, cold": _fastest_cold(bait, runs),
        "*a*a*a*a*a*a*a*b, matches": _fastest(lambda: [matches(_BAIT, n) for n in names], runs),
    }


def main() -> None:
    print(f"ms of CPU per {PAIRS:,} pairs, the fastest of {RUNS} runs")
    for case, ms in measure().items():
        print(f"{case:>34}: {ms:8.2f} ms")


if __name__ == "__main__":
    main()
