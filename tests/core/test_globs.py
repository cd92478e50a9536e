"""File-reservation patterns (maestro_mcp/core/globs.py): the canonical form and what is
refused, which paths a pattern covers, and exact overlap, checked by tables and against
a brute-force enumeration of paths."""

import itertools
import random
import re
import time
from collections.abc import Iterable, Sequence

import pytest

from maestro_mcp.core.globs import (
    PATTERN_MAX,
    BadPattern,
    PatternIndex,
    matches,
    normalize,
    overlaps,
)
from maestro_mcp.core.vocabulary import RESERVATION_PATTERN_MAX

# --- normalize -----------------------------------------------------------------------


def test_the_limit_is_the_vocabularys() -> None:
    assert PATTERN_MAX == RESERVATION_PATTERN_MAX == 1024


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("src/api", "src/api"),  # one file (or name)
        ("src/api/", "src/api/**"),  # a trailing "/": the directory and all under it
        ("./src/api", "src/api"),
        ("./src//api/", "src/api/**"),
        ("  src/api \t\n", "src/api"),
        ("  src/api/ \t\n", "src/api/**"),
        ("src//api///x.py", "src/api/x.py"),
        ("src/./api", "src/api"),
        ("src/./api/.", "src/api/**"),  # "/." at the end is a directory too
        ("docs/.", "docs/**"),
        ("././src", "src"),
        (".//src//", "src/**"),
        ("*/", "*/**"),
        ("src/*.py/", "src/*.py/**"),
        ("**", "**"),
        ("**/", "**"),
        ("./**", "**"),
        ("**/**", "**"),
        ("**/**/**", "**"),
        ("src/**/", "src/**"),  # written out already
        ("src/api/**/", "src/api/**"),
        ("a/**/**/b", "a/**/b"),
        ("a/**/./**/b", "a/**/b"),
        ("a/**/b/**", "a/**/b/**"),
        ("src/*.py", "src/*.py"),
        ("a/[!b]d", "a/[!b]d"),
        ("[]a]", "[]a]"),  # "]" first in a class is a member
        ("[!]]", "[!]]"),
        ("[-a]/[a-]", "[-a]/[a-]"),
        ("[*]/[?]/[[]", "[*]/[?]/[[]"),  # how to write a literal wildcard
        ("a^b/[a^]", "a^b/[a^]"),
        ("name with spaces/x", "name with spaces/x"),
        (".hidden/..dots../...", ".hidden/..dots../..."),  # only "." and ".." are special
        ("C:", "C:"),  # a plain name; C:/ and C:\ are drives
        ("Ünïcødé/日本", "Ünïcødé/日本"),
    ],
)
def test_normalize_gives_the_canonical_form(written: str, canonical: str) -> None:
    assert normalize(written) == canonical
    assert normalize(canonical) == canonical  # the canonical form is a fixed point


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ("", ["empty", "** for the whole repository"]),
        ("  \t ", ["empty"]),
        (".", ["root", "write **"]),
        ("./", ["root", "write **"]),
        ("/", ["absolute", "write ** to reserve the whole repository"]),
        ("/src/api", ["absolute", "without the leading '/'", "'src/api'"]),
        ("//src", ["absolute", "'src'"]),
        ("\\src\\api", ["absolute", "'src/api'"]),
        ("C:\\work\\x", ["absolute", "relative to the repository's root"]),
        ("C:/work/x", ["absolute"]),
        ("c:/x", ["absolute"]),
        ("..", ["'..'", "inside the repository"]),
        ("a/../b", ["'..'"]),
        ("a/..", ["'..'"]),
        ("src\\api", ["backslash", "'/'", "'src/api'", "[*]"]),
        ("a\\*", ["backslash", "no escape character", "[*]"]),
        ("a\0b", ["control character (U+0000)", "position 2"]),
        ("a\tb", ["control character (U+0009)"]),
        ("a/b\nc", ["control character (U+000A)", "position 4"]),
        ("a\x7f", ["control character (U+007F)"]),
        ("a\x85b", ["control character (U+0085)"]),
        ("a\ud800", ["lone surrogate"]),
        ("[ab", ["unclosed '['", "']'", "[[]"]),
        ("src/[", ["unclosed '['"]),
        ("[]", ["unclosed '['"]),  # "]" first is a member: the class is still open
        ("[!]", ["unclosed '['"]),
        ("a[b-", ["unclosed '['"]),
        ("a**", ["whole path segment", "'a*'", "'a/**'"]),
        ("**b", ["whole path segment", "'*b'", "'**/b'"]),
        ("a**b", ["'a*b'", "'a/**/b'"]),
        ("src/***", ["whole path segment", "'*'", "'**'"]),
        ("x/a*[b]**", ["whole path segment"]),
        ("[z-a]", ["range z-a is empty", "a-z"]),
        ("[^a]", ["'[^'", "[!a-z]", "literal '^'"]),
        ("[[:alpha:]]", ["named classes", "[a-zA-Z]"]),
        ("x" * (RESERVATION_PATTERN_MAX + 1), ["1025 characters", "more than 1024"]),
    ],
)
def test_normalize_refuses_with_a_message_that_says_what_to_write(
    pattern: str, said: list[str]
) -> None:
    with pytest.raises(BadPattern) as refused:
        normalize(pattern)
    for words in said:
        assert words in str(refused.value)
    assert isinstance(refused.value, ValueError)  # callers may catch either
    # matches and overlaps read their patterns the same way
    with pytest.raises(BadPattern):
        matches(pattern, "x")
    with pytest.raises(BadPattern):
        overlaps("x", pattern)


def test_the_limit_counts_the_pattern_not_the_whitespace_around_it() -> None:
    longest = "a/" * (RESERVATION_PATTERN_MAX // 2 - 1) + "bc"
    assert len(longest) == RESERVATION_PATTERN_MAX
    assert normalize(f"  {longest}\n") == longest


def test_the_limit_holds_for_a_directory_written_out() -> None:
    """``x/`` is stored as ``x/**``: the stored form is what a client sends back (to
    release it), so it must be a pattern the limit lets in."""
    fits = "a" * (RESERVATION_PATTERN_MAX - 3) + "/"
    assert len(normalize(fits)) == RESERVATION_PATTERN_MAX
    assert normalize(normalize(fits)) == normalize(fits)
    over = "a" * (RESERVATION_PATTERN_MAX - 2) + "/"
    assert len(over) < RESERVATION_PATTERN_MAX
    with pytest.raises(BadPattern, match=r"ends with '/'.*'…/\*\*': 1025 characters, more"):
        normalize(over)
    with pytest.raises(BadPattern):
        overlaps("**", over)


# --- matches -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("src/api", "src/api"),  # exactly what it matches
        ("src/api", "src/api/"),  # a path's trailing "/" is dropped: the name src/api
        ("src/api", "./src//api"),  # a path is read like a pattern's text
        ("src/api/**", "src/api/x.py"),  # written src/api/: the directory, all under it
        ("src/api/**", "./src//api/x/y.py"),
        ("src/api/**", "src/api"),  # "**" matches zero segments: the name itself
        ("src/*.py", "src/a.py"),
        ("src/*.py", "src/.py"),  # "*" may match nothing
        ("docs/*", "docs/a"),
        ("*", "a"),
        ("*.md", "README.md"),
        ("*.md", ".md"),  # a leading dot is not special
        (".*", ".env"),
        ("?", "a"),
        ("a?c", "abc"),
        ("[abc]", "b"),
        ("[a-z]x", "qx"),
        ("[!a-z]x", "Qx"),
        ("[!a-z]x", "-x"),
        ("[]a]", "]"),
        ("[-a]", "-"),
        ("[a-]", "-"),
        ("[*]", "*"),  # a literal "*" ...
        ("a*", "a*"),  # ... and a path's "*" is a character
        ("**", "a"),
        ("**", "a/b/c"),
        ("**/x.py", "x.py"),  # "**" matches zero segments ...
        ("**/x.py", "a/b/x.py"),  # ... or more
        ("**/*.md", "docs/a.md"),
        ("**/*.md", "README.md"),
        ("src/**/*.py", "src/a/b.py"),
        ("a/**/b", "a/b"),
        ("src/**/x.py", "src/x.py"),
        ("src/**/x.py", "src/a/b/c/x.py"),
        ("src/**", "src"),
        ("src/**", "src/a/b"),
        ("src/**/test/*", "src/a/test/b"),
        ("a/**/b/**/c", "a/b/c"),
        ("a/**/b/**/c", "a/x/b/y/b/z/c"),
        ("*a*a*a*b", "aaaaaab"),
        ("Ünï*/日本", "Ünïcødé/日本"),
        ("name with spaces", "name with spaces"),
        ("**/a/" * 200 + "**", "a/" * 200 + "b"),
    ],
)
def test_a_pattern_covers(pattern: str, path: str) -> None:
    assert matches(pattern, path)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("src/api", "src"),  # above what it names
        ("src/api", "src/api/x.py"),  # below it: a directory is written src/api/
        ("src/api", "src/api/x/y.py"),
        ("src/api/**", "src/apix/y.py"),
        ("src/api", "src/apix"),
        ("src/api", "src/ap"),
        ("src/api", "Src/api"),  # case-sensitive
        ("src/*.py", "src/a.pyc"),
        ("src/*.py", "src/a/b.py"),  # "*" never crosses "/"
        ("src/*.py", "src/a.py/z"),  # nothing below what it matches
        ("src/*.py", "src"),
        ("docs/*", "docs/a/b.md"),
        ("*", "a/b"),
        ("*", "anything/at/all"),
        ("*.md", "docs/README.md"),
        ("**/*.md", "src/main.py"),
        ("**/*.lock", "src/a.py"),
        ("?", "ab"),
        ("a?c", "a/c"),
        ("[abc]", "d"),
        ("[abc]", "ab"),
        ("[a-z]x", "Qx"),
        ("[!a-z]x", "qx"),
        ("[*]", "a"),
        ("**/x.py", "a/y.py"),
        ("**/x.py", "ax.py"),
        ("**/x.py", "a/x.py/y"),
        ("src/**/x.py", "src/a/y.py"),
        ("src/**/x.py", "x.py"),
        ("src/**", "srcx/a"),
        ("src/**/test/*", "src/a/test/b/c"),
        ("a/**/b/**/c", "a/b/b"),
        ("*a*a*a*b", "aaaaaa"),
        ("Ünï*/日本", "Ünïcødé/日"),
        ("Ünï*/日本", "Ünïcødé/日本/x"),
        ("name with spaces", "name with spaces/x"),
        ("**/a/" * 200 + "**", "a/" * 199 + "b"),  # one "a" short
    ],
)
def test_a_pattern_does_not_cover(pattern: str, path: str) -> None:
    assert not matches(pattern, path)


@pytest.mark.parametrize("path", ["", "/", "/src/a.py", "../a", "a/../b", ".", "a\0"])
def test_a_path_outside_the_repository_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match=r"repository|NUL"):
        matches("**", path)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [("**", "\\a"), ("*.txt", "\\notes.txt"), ("*/b", "a:/b"), ("[C]:/**", "C:/x"), ("*", "C:\\x")],
)
def test_a_backslash_or_a_drive_in_a_path_is_part_of_a_name(pattern: str, path: str) -> None:
    """A path is read as POSIX reads it (git lists such files): only "/" separates."""
    assert matches(pattern, path)
    assert not matches("x/**", path)


def test_the_index_finds_exactly_the_patterns_that_match() -> None:
    """``PatternIndex.covering`` against every pattern tried on every path."""
    patterns = [
        "**",
        "src/**",
        "src",
        "src/*.py",
        "src/**/*.py",
        "*.md",
        "**/*.md",
        "src/api/x.py",
        "s?c/**",
        "[s]rc/a.py",
        "src/a.[ch]",
        "**/*.tar.gz",
        "docs/*_test.*",
        "docs/a]b.md",
        "x*/y",
        "src/**/test_*.py",
        "src/api/**",
        "*",
        "a/**/b",
        "**/.bashrc",
        "*.bashrc",
    ]
    paths = [
        "src",
        "src/a.py",
        "src/a.c",
        "src/api/x.py",
        "src/api/y/z.py",
        "README.md",
        "docs/a.md",
        "docs/a_test.md",
        "docs/a]b.md",
        "x1/y",
        "a/b",
        "a/c/b",
        "z.tar.gz",
        "src/t/test_a.py",
        ".bashrc",
        "home/.bashrc",
        "src/a.py/x",
        "\\a.md",
    ]
    index = PatternIndex((p, p) for p in [*patterns, *patterns])  # each pattern twice
    for path in paths:
        expected = [p for p in patterns if matches(p, path) for _ in range(2)]
        assert sorted(index.covering(path)) == sorted(expected), path
        assert len(index.candidates(path)) <= len(patterns)  # one entry per pattern


# --- overlaps ------------------------------------------------------------------------

OVERLAPPING = [
    ("**/*.md", "docs/a.md"),
    ("src/api/", "src/api/x.py"),  # src/api/**
    ("src/**/*.py", "src/a/b.py"),
    ("src/**", "src"),  # "**" matches zero segments
    ("src/api/", "src/api"),  # the directory's name itself
    ("a/**/b", "a/b"),
    ("src/*.py", "src/*_test.*"),  # src/a_test.py
    ("src/**/x.py", "src/a/**"),  # src/a/x.py
    ("a/[bc]d", "a/[!b]d"),  # a/cd
    ("**", "x"),
    ("**", "a/b/c/*.py"),
    ("**", "**"),
    ("a*/**", "ab/y"),
    ("[ab]", "[!a]"),  # b
    ("[!a]", "[!b]"),  # c
    ("[a-c]x", "[c-e]*"),  # cx
    ("[!a-y]", "[x-z]"),  # z
    ("a?c", "*b*"),  # abc
    ("*a*", "*b*"),  # ab
    ("a*b*c", "*c"),  # abc
    ("**/x", "a/**"),  # a/x (start against end)
    ("**/x", "x"),  # "**" matching nothing
    ("a/**/x", "a/x"),  # middle
    ("a/**/x", "a/b/c/x"),
    ("a/**/x", "*/b/*/x"),  # a/b/c/x
    ("a/**", "a"),  # end: "**" matches zero segments
    ("a/**", "a/b/c"),
    ("a/**/b/**/c", "**/c"),
    ("**/a/b", "b/**/b"),  # b/a/b
    ("**/a/**/b", "*/b"),  # a/b
    ("**/b/**", "a/*/c"),  # a/b/c
    ("**/a/**", "**/b/**"),  # a/b
    ("**/a/**", "b/**/c"),  # b/a/c
    ("a/**/b/**/c", "**/b/x/**"),  # a/b/x/c
    ("x/**/y", "**/y/x/**"),  # x/y/x/y: deeper than either pattern
    ("**/a/**/b/**", "*/b/a/*"),  # x/b/a/b
    ("**/x/**", "a/x/c"),
    ("a/a/a/**", "**/b/b/b"),  # a/a/a/b/b/b: every plain segment of both takes a name
    ("*a*a*a*a*a*a*a*b", "a" * 40 + "b"),
    ("a/.?", "a/?."),  # a/..: "." and ".." count as names (see the module's docstring)
]

DISJOINT = [
    ("**/*.md", "src/main.py"),  # a name may not be a directory: it is one file
    ("**/*.lock", "src/a.py"),
    ("src/api", "src/api/x.py"),  # a directory is written src/api/
    ("src/*.py", "src/a/b.py"),
    ("*", "a/b"),
    ("?", "a/b"),
    ("a*/x", "ab/y"),
    ("a*", "ab/y"),
    ("a/b", "a"),
    ("src", "src/**/x.py"),
    ("**/x", "**/y"),
    ("**/a/b", "b/b/b"),
    ("src/**/x.py", "src/a/b.js"),
    ("src/*.py", "src/*.js"),
    ("a/[b]d", "a/[!b]d"),
    ("a/b", "a/c"),
    ("src/api", "src/apix"),
    ("src/api/", "src/apix"),
    ("src/api", "Src/api"),
    ("?", "??"),
    ("a?", "?"),
    ("[ab]", "[!ab]"),
    ("[a-c]x", "[d-f]*"),
    ("a*b", "*c"),
    ("*a", "*b"),
    ("a/**/x", "b/**"),
    ("a/*/c", "a/*/d"),
    ("*a*a*a*a*a*a*a*b", "a" * 40),
    ("src/**/x.py", "docs/**"),
    # Neither end decides these: the product over names must search.
    ("**/x/**", "y"),
    ("**/x/**", "a/b/c"),
    ("**/a/**/b/**", "b/a"),  # an "a" before a "b"
    ("**/a/**/b/**", "b/*/a"),
    ("a/**/b/**/a", "a/[!b]/a"),
]


@pytest.mark.parametrize(("a", "b"), OVERLAPPING)
def test_patterns_that_overlap(a: str, b: str) -> None:
    assert overlaps(a, b)
    assert overlaps(b, a)


@pytest.mark.parametrize(("a", "b"), DISJOINT)
def test_patterns_that_do_not_overlap(a: str, b: str) -> None:
    assert not overlaps(a, b)
    assert not overlaps(b, a)


@pytest.mark.parametrize(
    "pattern", sorted({p for pair in OVERLAPPING + DISJOINT for p in pair} | {"src/api/"})
)
def test_every_pattern_overlaps_itself_and_the_whole_repository(pattern: str) -> None:
    assert overlaps(pattern, pattern)
    assert overlaps(pattern, normalize(pattern))
    assert overlaps(pattern, "**")


def test_work_grows_with_the_lengths_not_exponentially() -> None:
    # A backtracking matcher tries every way of placing the 7 stars among the 1,000
    # characters (about 10^17 ways) before saying no; the automata take a few ms.
    pattern = "*a*a*a*a*a*a*a*b"
    name = "a" * PATTERN_MAX
    began = time.perf_counter()
    assert not matches(pattern, name)
    assert not overlaps(pattern, name)
    assert not overlaps(pattern, "*a" * 400 + "*c")
    assert overlaps(pattern, "*a" * 400 + "*")  # a…ab
    assert not overlaps(pattern, "*a" * 400)  # ends with a, not b
    # Two segment patterns of 1,023 characters, 511 stars each, that differ only in their
    # last character: nearly every pair of states of their product is reachable.
    assert not overlaps("?*" * 511 + "c", "*?" * 511 + "d")
    # The same over names: a backtracking matcher tries every way of placing 200 "a"
    # names among 400 before saying no (about 10^119 ways); neither end of the patterns
    # decides, so the product over names is walked, 200 rows of about 400 states.
    spread = "**/a/" * 200 + "**"
    assert not matches(spread, "a/" * 199 + "b")
    assert not overlaps(spread, "a/" * 199 + "b")
    assert overlaps(spread, "a/" * 200 + "b")
    assert not overlaps(spread, "*/" * 199 + "b")
    assert overlaps(spread, "?/" * 400 + "**")
    spread = "**/?a/" * 170 + "**"  # the segment pairs are products over characters
    assert not overlaps(spread, "*a/" * 169 + "*b")
    assert overlaps(spread, "*a/" * 170 + "*b")
    # Generous (the work is ~40 ms): only an exponential blow-up can take this long.
    assert time.perf_counter() - began < 5


# --- Brute force ---------------------------------------------------------------------
#
# Random patterns against an independent reference (a backtracking regular expression per
# pattern, the opposite technique to the module's automata), on a universe of paths.
#
# What the universe can prove. Segments are drawn from ATOMS and patterns have at most
# MAX_DEPTH of them. A pattern matches whole paths only, so the paths two patterns have
# in common are not closed downwards (src/**/x.py and src/a/** meet at src/a/x.py, not
# at src/a), and a common path cannot be cut short at will. Two facts bound where a
# shortest one lies. In a common path, each pattern has each name taken by one of its
# segments: a plain one (which takes exactly one name) or a "**".
#   1. Names: any two atoms that match a common name match a common one-letter name, "a"
#      or "b", and every atom matches "a" or "b" (test_the_witness_names_suffice checks
#      both). So each name may be replaced by "a" or "b", taken by the same segments: a
#      common one if both take it by plain segments, one the plain segment matches if
#      only one does, any if both take it by a "**".
#   2. Depth: in a shortest common path, no name is taken by a "**" of both patterns
#      (without it, the path is still common to both), unless it is the only name, and
#      then both patterns are "**" alone. So each name is taken by a plain segment of
#      one pattern at least, and a shortest common path has at most
#      max(1, plain(a) + plain(b)) names, plain() counting the segments that are not
#      "**": for two patterns of depth ≤ k, at most 2k names, whatever their "**". The
#      bound is reached: a/a/a/** and **/b/b/b meet first at a/a/a/b/b/b.
# So on WITNESSES = paths over {a, b} of depth ≤ 2 * MAX_DEPTH = 6 two patterns meet iff
# they meet anywhere: overlaps is checked for equality there, both ways, for every pair.
# On the UNIVERSE issue #15 asks for (names {a, b, aa, ab, ba, bb}, depth ≤ 4) a common
# path proves an overlap (no false negative, with longer names); and where
# plain(a) + plain(b) ≤ 4, a witness must lie within it, so overlaps saying True there
# without one in the universe would be a false positive. ``matches`` is compared with
# the reference on every path of the universe. test_several_globstars_against_the_brute_force
# does the same for patterns with up to four "**" between their plain segments.

ATOMS = ["a", "b", "*", "?", "[ab]", "[!a]", "**"]
MAX_DEPTH = 3
UNIVERSE_NAMES = ["a", "b", "aa", "ab", "ba", "bb"]
UNIVERSE_DEPTH = 4
WITNESS_NAMES = ["a", "b"]
WITNESS_DEPTH = 2 * MAX_DEPTH


def _paths(names: Sequence[str], depth: int) -> list[str]:
    return [
        "/".join(parts)
        for length in range(1, depth + 1)
        for parts in itertools.product(names, repeat=length)
    ]


UNIVERSE = _paths(UNIVERSE_NAMES, UNIVERSE_DEPTH)
WITNESSES = _paths(WITNESS_NAMES, WITNESS_DEPTH)


def _reference(pattern: str) -> "re.Pattern[str]":
    """A regular expression that matches the whole of ``path + "/"`` iff the pattern
    covers ``path`` (every segment ends with "/"). Enough of the syntax for the tests'
    patterns: literals, "*", "?", "[…]" and "[!…]" of letters and ranges, "**"."""
    parts = []
    for segment in pattern.split("/"):
        if segment == "**":
            parts.append("(?:[^/]+/)*")
            continue
        regex = ""
        for token in re.findall(r"\[!?[^]]+\]|.", segment):
            if token == "*":
                regex += "[^/]*"
            elif token == "?":
                regex += "[^/]"
            elif token.startswith("[!"):
                regex += "[^/" + token[2:-1] + "]"  # letters and ranges: the same in re
            elif token.startswith("["):
                regex += token
            else:
                regex += re.escape(token)
        parts.append(regex + "/")
    return re.compile("".join(parts))


def _covered(pattern: str, paths: Iterable[str]) -> int:
    """The paths the pattern covers, by the reference, as bits (bit i: the i-th path)."""
    reference = _reference(pattern)
    bits = 0
    for i, path in enumerate(paths):
        if reference.fullmatch(path + "/"):
            bits |= 1 << i
    return bits


def _random_pattern(rng: random.Random, atoms: Sequence[str], depth: int) -> str:
    return "/".join(rng.choice(atoms) for _ in range(rng.randint(1, depth)))


def _plain_segments(pattern: str) -> int:
    return sum(segment != "**" for segment in pattern.split("/"))


def test_the_reference_agrees_with_the_tables() -> None:
    """The reference must say what the tables say, or the cross-check proves nothing."""
    for pattern, path, covered in [
        ("src/api", "src/api", True),
        ("src/api/**", "src/api/x/y.py", True),
        ("src/api/**", "src/api", True),
        ("**/*.md", "docs/a.md", True),
        ("**/x.py", "x.py", True),
        ("a/**", "a", True),
        ("a/[!b]d", "a/cd", True),
        ("src/api", "src/api/x/y.py", False),
        ("src/*.py", "src/a.py/z", False),
        ("docs/*", "docs/a/b.md", False),
        ("**/*.md", "src/main.py", False),
        ("src/api", "src", False),
        ("src/*.py", "src/a/b.py", False),
        ("a/[!b]d", "a/bd", False),
        ("**/x", "a/y", False),
    ]:
        assert bool(_reference(pattern).fullmatch(path + "/")) is covered, (pattern, path)
        assert matches(pattern, path) is covered, (pattern, path)


LONGER_ATOMS = [*ATOMS, "a*", "*b", "?a", "a?", "*a*"]


@pytest.mark.parametrize(
    ("atoms", "names"), [(ATOMS, WITNESS_NAMES), (LONGER_ATOMS, UNIVERSE_NAMES)]
)
def test_the_witness_names_suffice(atoms: list[str], names: list[str]) -> None:
    """Fact 1 above: atoms that match a common name match a common name in ``names``
    (checked on every name of up to three letters over {a, b, c}); so does an atom alone
    (x against itself)."""
    others = ["".join(letters) for n in (1, 2, 3) for letters in itertools.product("abc", repeat=n)]
    segments = [atom for atom in atoms if atom != "**"]
    for x, y in itertools.product(segments, repeat=2):
        both = re.compile(f"(?={_reference(x).pattern}$){_reference(y).pattern}$")
        common = [name for name in others if both.match(name + "/")]
        assert bool(common) == any(name in common for name in names), (x, y, common)


def test_random_patterns_against_the_brute_force() -> None:
    rng = random.Random(15)
    drawn: set[str] = set()
    while len(drawn) < 200:  # of the 399 patterns there are
        drawn.add(_random_pattern(rng, ATOMS, MAX_DEPTH))
    pool = sorted(drawn)
    canonical = {pattern: normalize(pattern) for pattern in pool}
    in_universe = {pattern: _covered(pattern, UNIVERSE) for pattern in pool}
    in_witnesses = {pattern: _covered(pattern, WITNESSES) for pattern in pool}

    for pattern in pool:
        # normalize keeps what a pattern covers (it merges "**/**"), and a trailing "/"
        # is "/**" written out
        assert _covered(canonical[pattern], UNIVERSE) == in_universe[pattern], pattern
        directory = _covered(f"{pattern}/**", UNIVERSE)
        assert _covered(normalize(f"{pattern}/"), UNIVERSE) == directory, pattern
    for pattern in rng.sample(pool, 80):  # matches is the reference, path by path
        bits = in_universe[pattern]
        for i, path in enumerate(UNIVERSE):
            assert matches(canonical[pattern], path) == bool(bits >> i & 1), (pattern, path)

    pairs = list(itertools.combinations_with_replacement(pool, 2))
    assert len(pairs) > 10_000
    told = {True: 0, False: 0}
    for a, b in pairs:
        said = overlaps(canonical[a], canonical[b])
        assert overlaps(canonical[b], canonical[a]) == said, (a, b)
        told[said] += 1
        # Exact: a common path exists iff one exists among the witnesses (facts 1 and 2).
        assert said == bool(in_witnesses[a] & in_witnesses[b]), (a, b)
        # The spec's universe: a common path there is an overlap; and where the witness
        # must lie within it, an overlap has one there.
        common = bool(in_universe[a] & in_universe[b])
        if common:
            assert said, (a, b)
        elif _plain_segments(a) + _plain_segments(b) <= UNIVERSE_DEPTH:
            assert not said, (a, b)
    # Both answers are common: neither would pass by always saying one thing.
    assert min(told.values()) > len(pairs) // 10, told


def test_several_globstars_against_the_brute_force() -> None:
    """Up to three plain segments with a "**" or not before, between and after them (up
    to seven segments, as in **/a/**/*/**/[!a]/**): the product over names must search,
    as neither end decides. At most three plain segments each, so a shortest common path
    has at most 6 names over {a, b} (facts 1 and 2): equality on WITNESSES, both ways."""
    rng = random.Random(18)
    plain = [atom for atom in ATOMS if atom != "**"]
    drawn: set[str] = set()
    while len(drawn) < 250:
        segments = [rng.choice(plain) for _ in range(rng.randint(1, 3))]
        parts = ["**"] if rng.random() < 0.6 else []
        for segment in segments:
            parts += [segment, "**"] if rng.random() < 0.6 else [segment]
        drawn.add("/".join(parts))
    pool = sorted(drawn)
    assert sum(pattern.count("**") >= 3 for pattern in pool) > 40
    covered = {pattern: _covered(pattern, WITNESSES) for pattern in pool}
    told = {True: 0, False: 0}
    for a, b in itertools.combinations_with_replacement(pool, 2):
        said = overlaps(a, b)
        told[said] += 1
        assert said == bool(covered[a] & covered[b]), (a, b)
    assert min(told.values()) > 2000, told


def test_longer_names_against_the_brute_force() -> None:
    """Atoms that need two-letter names (a*, *b, ?a); patterns of depth ≤ 2, so a shortest
    common path has at most 4 names, all of at most two letters over {a, b}: the
    universe holds a witness of every overlap, and equality is checked both ways."""
    rng = random.Random(16)
    drawn: set[str] = set()
    while len(drawn) < 100:
        drawn.add(_random_pattern(rng, LONGER_ATOMS, 2))
    pool = sorted(drawn)
    covered = {pattern: _covered(pattern, UNIVERSE) for pattern in pool}
    for a, b in itertools.combinations_with_replacement(pool, 2):
        assert overlaps(normalize(a), normalize(b)) == bool(covered[a] & covered[b]), (a, b)


def test_single_names_against_the_brute_force() -> None:
    """One segment each, with classes, ranges and negations over {a, b, c}: the product
    of the character automata. A character other than a, b and c is in every class or
    in none alike, so "d" stands for all of them; and a shortest common name takes each
    character for at least one non-"*" step of either pattern (fact 2, over characters).
    So names over {a, b, c, d} of up to 4 characters decide patterns of at most 2 such
    steps each, both ways."""
    steps = ["a", "b", "c", "?", "[ab]", "[!a]", "[!ab]", "[a-c]", "[!b-c]", "[bc]"]
    rng = random.Random(17)
    drawn = {"*"}
    while len(drawn) < 150:
        chosen = [rng.choice(steps) for _ in range(rng.randint(1, 2))]
        # a "*" may stand before, between and after the steps, never two together
        parts = [("*" if rng.random() < 0.4 else "") + step for step in chosen]
        drawn.add("".join(parts) + ("*" if rng.random() < 0.4 else ""))
    pool = sorted(drawn)
    names = [
        "".join(letters) for n in range(1, 5) for letters in itertools.product("abcd", repeat=n)
    ]
    covered = {pattern: _covered(pattern, names) for pattern in pool}
    told = {True: 0, False: 0}
    for a, b in itertools.combinations_with_replacement(pool, 2):
        said = overlaps(a, b)
        told[said] += 1
        assert said == bool(covered[a] & covered[b]), (a, b)
    assert min(told.values()) > 1000, told
