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
- *``**`` between 170 names, against 340 names*: ``**/?a/**/?b/…/**`` against
  ``*b/*a/*a/*b/…`` (the letters drawn at random, half the pairs overlapping): neither
  end decides, so the product over names is walked, a row per segment, at a size no
  real pattern reaches (a backtracking matcher tries the ways of placing 170 names
  among 340);
- *``*a*a*a*a*a*a*a*b`` against names of 1,000 characters*, by ``overlaps`` (cold) and by
  ``matches`` (warm: the pattern is read once): a backtracking matcher would not finish
  one;
- *the guard's check*: which of ten times ``pairs`` files of a commit
  (``src/pkg3/mod7/file12.py`` and the like) ``pairs`` live reservations of the usual
  shapes cover, as ``reservations.check`` asks it: through ``PatternIndex`` (its building
  included), and, for comparison, by matching every path against every pattern (as
  before the index; on ``pairs`` paths only, and the fastest of 2 runs: it is slow).

Each figure is the fastest of ``runs``, in CPU time (the check is CPU-bound and single
threaded; on a shared machine, wall time measures the neighbours). Timings belong here,
not in the tests (tests/core/test_globs.py checks only that nothing grows exponentially).
"""

import random
import time
from collections.abc import Callable

from maestro_mcp.core.globs import PatternIndex, matches, normalize, overlaps

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
            f"{top}/{package}/{module}/**",  # written {top}/{package}/{module}/
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


def _spread(rng: random.Random, overlapping: bool) -> tuple[str, str]:
    """``**/?x/**/?y/…/**`` of 170 random letters, and names that hold each letter after
    one of the other letter (``*y/*x/…``): an overlap, or none if the last one is the
    other letter too."""
    letters = [rng.choice("ab") for _ in range(170)]
    other = {"a": "b", "b": "a"}
    names = [name for letter in letters for name in (other[letter], letter)]
    if not overlapping:
        names[-1] = other[letters[-1]]
    spread = "".join(f"**/?{letter}/" for letter in letters) + "**"
    return spread, "/".join(f"*{name}" for name in names)


def _long_segment(rng: random.Random, last: str) -> str:
    steps = "".join(rng.choice(["*", "[ab]", "?"]) + rng.choice("ab") for _ in range(66))
    return steps + last


def commit_paths(rng: random.Random, count: int, tag: str) -> list[str]:
    """``count`` files of a commit in the repository ``reservations(rng, …, tag)`` reserve
    in."""
    return [
        f"{rng.choice(_TOPS)}/{tag}pkg{rng.randrange(40)}/mod{rng.randrange(60)}/"
        f"file{rng.randrange(50)}.{rng.choice(_EXTENSIONS)}"
        for _ in range(count)
    ]


def _guard_check(patterns: list[str], paths: list[str]) -> int:
    """What ``reservations.check`` does with them: the files some pattern covers."""
    index = PatternIndex((pattern, pattern) for pattern in patterns)
    return sum(1 for path in paths if index.covering(path))


def _every_pair(patterns: list[str], paths: list[str]) -> int:
    return sum(1 for path in paths if any(matches(pattern, path) for pattern in patterns))


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

    def spread(run: int) -> Pairs:
        return [_spread(rng, overlapping=n % 2 == 0) for n in range(pairs)]

    def long_segments(run: int) -> Pairs:
        return [(_long_segment(rng, "c"), _long_segment(rng, "d")) for _ in range(pairs)]

    def bait(run: int) -> Pairs:
        return [(_BAIT, "".join(rng.choices("ab", k=1000))) for _ in range(pairs)]

    warm = one_against_live(runs)
    names = [name for _, name in bait(runs)]
    live = reservations(rng, pairs, "g")
    committed = commit_paths(rng, 10 * pairs, "g")
    return {
        "one against 1,000, cold": _fastest_cold(one_against_live, runs),
        "one against 1,000, warm": _fastest(lambda: [overlaps(a, b) for a, b in warm], runs),
        "30 segments, one against 1,000": _fastest_cold(deep_against_live, runs),
        "30 segments, 1,000 new pairs": _fastest_cold(deep, runs),
        "segments of 200 characters, cold": _fastest_cold(long_segments, runs),
        "** between 170 names, cold": _fastest_cold(spread, runs),
        "*a*a*a*a*a*a*a*b, overlaps, cold": _fastest_cold(bait, runs),
        "*a*a*a*a*a*a*a*b, matches": _fastest(lambda: [matches(_BAIT, n) for n in names], runs),
        "guard check, 10 x paths, indexed": _fastest(lambda: _guard_check(live, committed), runs),
        "guard check, 1 x paths, every pair": _fastest(
            lambda: _every_pair(live, committed[:pairs]), min(runs, 2)
        ),
    }


def main() -> None:
    print(f"ms of CPU per {PAIRS:,} pairs (or paths, or reservations), the fastest of {RUNS} runs")
    for case, ms in measure().items():
        print(f"{case:>36}: {ms:8.2f} ms")


if __name__ == "__main__":
    main()
