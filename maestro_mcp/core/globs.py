"""File-reservation patterns: what a pattern may be, which paths it covers, and whether
two patterns cover a common path. Pure logic: no I/O, the standard library only, cheap to
import.

A session reserves paths or globs of its project's repository; two reservations conflict
when their patterns cover a common path. The rules, which docs/protocol.md repeats:

Writing a pattern (``normalize``)
  A pattern is a repository-relative POSIX path, optionally with wildcards. Surrounding
  whitespace, a leading ``./``, repeated ``/`` and ``.`` segments are dropped;
  consecutive ``**`` segments are one: ``**/**`` is ``**``, ``a/**/**/b`` is ``a/**/b``.
  A trailing ``/`` (or ``/.``) means a directory and everything under it, and is written
  out as a last ``**`` segment: ``./src//api/`` is ``src/api/**``, ``docs/.`` is
  ``docs/**``, ``src/**/`` is ``src/**`` and ``**/`` is ``**``. That form is the
  canonical one; it is what a reservation stores and shows.

  Refused, with a message that says what to write instead: an empty pattern (``.`` alone
  too: ``**`` reserves the whole repository); one longer than ``RESERVATION_PATTERN_MAX``
  characters, as written or once its trailing ``/`` is written out as ``/**``; an
  absolute one (``/x``, ``\\x``, ``C:\\x``, ``C:/x``); a ``..`` segment; a backslash
  (directories are separated by ``/``; there is no escape character: write ``[*]``,
  ``[?]``, ``[[]`` for a literal ``*``, ``?``, ``[``); NUL, other control characters
  and lone surrogates; an unclosed ``[``; a class that matches no character (``[z-a]``);
  ``[^…]`` (git reads it as "not", other tools as a literal ``^``: write ``[!…]``);
  ``[:alpha:]``-style named classes (write the ranges, ``[a-zA-Z]``); and ``**`` mixed
  with other characters in one segment (``a**``, ``**b``, ``***``: ``**`` is a whole
  segment, ``*`` stays within a name).

What a pattern covers (``matches``)
  Exactly the paths it matches, the whole path: nothing below them. A pattern cannot
  tell a file from a directory, so its author says which. Without wildcards it is that
  one file (or name): ``src/api`` covers ``src/api`` and not ``src/api/x.py``. A
  directory and everything under it is written with a trailing ``/``: ``src/api/``,
  stored as ``src/api/**`` (the same thing written out), covers ``src/api/x.py``,
  ``src/api/x/y.py`` and the name ``src/api`` itself. ``**`` alone is the whole
  repository.

  Matching is segment by segment, like git's wildmatch: ``*`` matches any run of
  characters within one segment (never ``/``), ``?`` one character (not ``/``),
  ``[abc]``, ``[a-z]`` and ``[!a-z]`` one character of (or not of) a class, a literal
  ``]`` first in a class (``[]a]``) and ``-`` first or last (``[-a]``) are themselves;
  ``**`` as a whole segment matches zero or more segments (so ``a/**`` matches ``a``
  too). A leading dot is not special; matching is case-sensitive and compares characters
  exactly (no Unicode normalisation). A file name is any characters but ``/`` and NUL.
  So ``src/*.py`` covers ``src/a.py``, not ``src/a/b.py``; ``src/**/*.py`` covers both;
  ``*`` covers ``a``, not ``a/b``; ``**/*.md`` covers ``README.md`` and ``docs/a/b.md``,
  not ``src/main.py``.

Overlap (``overlaps``)
  Two patterns overlap iff some path (of at least one name) is matched by both: exactly,
  not by a prefix heuristic. ``**/*.md`` and ``src/main.py`` do not overlap, nor do
  ``**/*.lock`` and any path not ending in ``.lock``; ``**/*.md`` and ``docs/a.md`` do.
  ``src/api/`` (``src/api/**``) and ``src/api/x.py`` overlap; ``src/api`` and
  ``src/api/x.py`` do not (a directory is written with a trailing ``/``). ``src/*.py``
  and ``src/a/b.py`` do not; ``src/**/*.py`` and ``src/a/b.py`` do; ``src/**`` and
  ``src`` do (``**`` matches zero segments), as do ``a/**/b`` and ``a/b``. ``*`` and
  ``a/b`` do not; ``**`` overlaps every pattern, and every pattern overlaps itself.
  ``a*/x`` and ``ab/y`` do not; ``src/*.py`` and ``src/*_test.*`` do (``src/a_test.py``),
  ``src/*.py`` and ``src/*.js`` do not; ``a/[bc]d`` and ``a/[!b]d`` overlap (``a/cd``),
  ``a/[b]d`` and ``a/[!b]d`` do not. A name is any characters but ``/`` and NUL, ``.``
  and ``..`` included: the check does not know that no path holds those, so ``a/.?`` and
  ``a/?.``, whose only common path would be ``a/..``, are said to overlap (a conflict
  too many, between patterns nobody writes; never one too few).

How overlap is decided, and why this way: the paths a pattern matches are a regular
language over names, and its automaton over names is a line of states, one per segment:
a plain segment takes one name it matches and moves on; a ``**`` takes any name and
stays, or is passed without one. Two patterns overlap iff the product of their automata
gets from (0, 0) to the pair of ends, (i, j) saying that some names are matched by a's
first i segments and by b's first j. Its steps from (i, j):
- to (i + 1, j + 1) when both stand at plain segments that match a common name: again a
  product of two automata, over characters this time (a ``*`` state loops on any
  character or is passed, the other states take one character of a set);
- to (i, j + 1) when a stands at a ``**`` (it takes a name b's segment matches, and
  every segment matches some name; or b's segment is a ``**`` too), or b stands at a
  ``**`` that is passed; to (i + 1, j) alike, the other way round.
Every step moves right or down, so the product is walked row by row, one row per
segment of a, the row's states j being the bits of an int (as in the Shift-And search);
each (segment of a, segment of b) pair a row reaches is checked once, so a pair of
patterns costs at most len(a) * len(b) segment checks and len(a) rows of bit operations:
``**/a/**/a/…/**/a`` against ``a/a/…/a/b``, where a backtracking matcher tries every way
of placing the names, is a few hundred rows. Before the walk, the leading segments are
peeled off while both patterns' are plain (a common path's first name is matched by
both, so they must match a common name), then the trailing ones likewise: most pairs
are decided there (``src/…`` against ``tests/…`` at the first name, ``**/*.md`` against
``src/main.py`` at the last), and the walk sees only what lies between. A common path
must have a name: the walk can accept having taken none only if both patterns are
``**`` alone, and then any name is one.

The product over characters is walked the same way, a row per step of one segment
pattern, so it costs one row of bit operations per step; ``matches`` moves its sets of
states as bits too. No backtracking, nothing exponential: ``*a*a*a*a*a*a*a*b`` against
``aaaa…`` is linear in the name. Results are memoized (bounded) per pattern, per pair of
segments and per pair of patterns, as a project's reservations are checked against each
other again and again.
"""

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from functools import lru_cache
from typing import Generic, TypeVar

from .vocabulary import RESERVATION_PATTERN_MAX

__all__ = ["PATTERN_MAX", "BadPattern", "PatternIndex", "matches", "normalize", "overlaps"]

PATTERN_MAX = RESERVATION_PATTERN_MAX

_GLOBSTAR = "**"  # as a whole segment: zero or more segments

# A set of characters (code points) as sorted, disjoint, half-open ranges, flattened:
# (lo0, hi0, lo1, hi1, …). A character c is in it iff bisect_right(bounds, ord(c)) is odd.
_CharSet = tuple[int, ...]
# One step of a segment pattern: a set of characters, or None for ``*``.
_Token = _CharSet | None
# What a name may hold: anything but NUL and "/" (POSIX's rule for file names).
_NAME_CHARS: _CharSet = (0x01, 0x2F, 0x30, 0x110000)
_LAST = 0x110000

_DRIVE = re.compile(r"[A-Za-z]:[/\\]")
_STARS = re.compile(r"\*{2,}")
_WILDCARD = re.compile(r"[*?\[\]]")  # what ends a segment's literal characters
# Bounded memos: a server runs for weeks, and patterns are at most PATTERN_MAX long.
_MEMO = 8192

_NO_ESCAPE = "write [*], [?] or [[] to match a literal *, ? or ["


_Item = TypeVar("_Item")


class BadPattern(ValueError):
    """A pattern that cannot be a reservation; str(exc) says what is wrong and what to write
    instead."""


def normalize(pattern: str) -> str:
    """The canonical form of a reservation pattern, or BadPattern."""
    return "/".join(_parse(_bounded(pattern)))


def matches(pattern: str, path: str) -> bool:
    """Whether a normalized ``pattern`` covers the repository-relative file ``path``.

    True iff the pattern matches the whole path (``src/api`` does not cover
    ``src/api/x.py``; ``src/api/**``, written ``src/api/``, does). ``path`` is read like a
    pattern's text (``./``, repeated ``/``, ``.`` segments and a trailing ``/`` are
    dropped: ``src/api/`` is the name ``src/api``) but literally: ``*`` in a path is a
    character. Raises ValueError for a path that does not name a file in the repository
    (empty, absolute, a ``..`` segment, a NUL), BadPattern for a pattern that is not one.
    """
    compiled = _compiled(_parse(_bounded(pattern)))
    globstars, last = compiled.globstars, compiled.count
    # The set of states of the pattern's automaton over names, as bits: bit k says that
    # the names so far are matched by its first k segments.
    states = 1 | (1 & globstars) << 1  # a ``**`` may match no name: its state may be passed
    for name in _names(path):
        taking = compiled.literals.get(name, 0)
        for segment, bits in compiled.globs:
            if states & bits and _name_matches(segment, name):
                taking |= bits
        # A segment that matches the name moves on; a ``**`` takes it and stays. After
        # normalize, ``**`` are never side by side: one shift passes any that may now end.
        states = (states & taking) << 1 | (states & globstars)
        states |= (states & globstars) << 1
        if not states:
            return False
    return states >> last & 1 == 1


def overlaps(a: str, b: str) -> bool:
    """Whether two normalized patterns match at least one common path (exact, not a
    heuristic). Raises BadPattern for a pattern that is not one."""
    first, second = _parse(_bounded(a)), _parse(_bounded(b))
    if first > second:  # the relation is symmetric: one memo entry per pair
        first, second = second, first
    return _paths_meet(first, second)


class _Node(Generic[_Item]):
    """A node of a ``PatternIndex``: the patterns whose literal prefix ends here, by the
    extension their last name must have (None: any), each with its items; and the nodes
    one name further."""

    __slots__ = ("children", "patterns")

    def __init__(self) -> None:
        self.patterns: dict[str | None, dict[str, list[_Item]]] = {}
        self.children: dict[str, _Node[_Item]] = {}


class PatternIndex(Generic[_Item]):
    """Normalized patterns, each with an item (a reservation, say; one pattern may have
    several), indexed so that a path is matched only against those that may cover it.

    A trie of names holds each pattern at the end of its literal leading segments (up to
    the first one with a wildcard: a literal segment takes exactly that name), so a path
    walks it along its names and meets only the patterns whose literal prefix is a prefix
    of it, and those that begin with a wildcard. At each node, a pattern whose last
    segment ends in literal characters holding a ``.`` (``*.py``, ``test_*.spec.ts``)
    covers only names with that extension (from the last ``.``): it is kept under it, and
    a path meets only those of its own extension, and those that say none. A path of n
    names costs n + 1 lookups, however many patterns there are; ``matches`` decides the
    rest. Raises BadPattern for a pattern that is not one."""

    __slots__ = ("_root",)

    def __init__(self, patterns: Iterable[tuple[str, _Item]]) -> None:
        self._root: _Node[_Item] = _Node()
        for pattern, item in patterns:
            segments = _parse(_bounded(pattern))
            node = self._root
            for segment in segments:
                if segment == _GLOBSTAR or not _is_literal(segment):
                    break
                node = node.children.setdefault(segment, _Node())
            last = segments[-1]
            tail = "" if last == _GLOBSTAR else _WILDCARD.split(last)[-1]
            extension = tail[tail.rindex(".") :] if "." in tail else None
            node.patterns.setdefault(extension, {}).setdefault(pattern, []).append(item)

    def candidates(self, path: str) -> list[tuple[str, list[_Item]]]:
        """The distinct patterns that may match ``path`` (a superset of those that do),
        each with its items, or ValueError as ``matches`` for a path that names no file."""
        names = _names(path)
        last = names[-1]
        extension = last[last.rindex(".") :] if "." in last else None
        keys = (None,) if extension is None else (None, extension)
        node = self._root
        found = [entry for key in keys for entry in node.patterns.get(key, {}).items()]
        for name in names:
            child = node.children.get(name)
            if child is None:
                break
            node = child
            found.extend(entry for key in keys for entry in node.patterns.get(key, {}).items())
        return found

    def covering(self, path: str) -> list[_Item]:
        """The items whose pattern matches ``path``."""
        return [
            item
            for pattern, items in self.candidates(path)
            if matches(pattern, path)
            for item in items
        ]


# --- Reading a pattern ---------------------------------------------------------------


def _bounded(pattern: str) -> str:
    """The pattern without surrounding whitespace, refused if empty or too long (checked
    before anything is memoized, so a memo never holds a huge key)."""
    text = pattern.strip()
    if not text:
        raise BadPattern(
            "the pattern is empty: name a file or directory relative to the repository's "
            "root (e.g. src/api or src/**/*.py), or ** for the whole repository"
        )
    if len(text) > PATTERN_MAX:
        raise BadPattern(
            f"the pattern has {len(text)} characters, more than {PATTERN_MAX}: reserve a "
            "directory above these files, or a glob (e.g. src/**/*.py)"
        )
    return text


@lru_cache(maxsize=_MEMO)
def _parse(text: str) -> tuple[str, ...]:
    """The segments of a stripped pattern of bounded length, canonical, or BadPattern."""
    if not text.isprintable():  # the quick test; the scan below says which character
        for at, char in enumerate(text):
            if unicodedata.category(char) in ("Cc", "Cs"):
                what = "a lone surrogate" if unicodedata.category(char) == "Cs" else "a control"
                raise BadPattern(
                    f"the pattern holds {what} character (U+{ord(char):04X}) at position "
                    f"{at + 1}: a reservation names files; remove it"
                )
    if text[0] in "/\\":
        relative = text.replace("\\", "/").lstrip("/")
        if not relative:
            raise BadPattern(f"{text!r} is absolute: write ** to reserve the whole repository")
        raise BadPattern(
            f"{text!r} is absolute: write the path relative to the repository's root, "
            f"without the leading {text[0]!r} ({relative!r})"
        )
    if _DRIVE.match(text):
        raise BadPattern(
            f"{text!r} is absolute: write the path relative to the repository's root, with "
            "'/' between directories (e.g. src/api, not C:/work/repo/src/api)"
        )
    if "\\" in text:
        raise BadPattern(
            f"{text!r} holds a backslash: separate directories with '/' "
            f"({text.replace(chr(92), '/')!r}); there is no escape character: {_NO_ESCAPE}"
        )
    written = text.split("/")
    segments: list[str] = []
    for segment in written:
        if segment in ("", "."):
            continue
        if segment == "..":
            raise BadPattern(
                f"{text!r} has a '..' segment: a reservation names paths inside the "
                "repository; write the path from the repository's root without '..'"
            )
        if segment == _GLOBSTAR:
            if segments and segments[-1] == _GLOBSTAR:
                continue  # ``**/**`` matches what ``**`` matches
        elif "*" in segment or "?" in segment or "[" in segment:
            _tokens(segment)  # refuses what is not a segment pattern
        segments.append(segment)
    if not segments:
        raise BadPattern(
            f"{text!r} names the repository's root, not a path in it: write ** to reserve "
            "the whole repository"
        )
    if written[-1] in ("", ".") and segments[-1] != _GLOBSTAR:
        # A trailing "/" (or "/.") names a directory: it and everything under it. Written
        # out, the canonical form may grow by the "**": it must still be a pattern a
        # client may send back (to release it, say), so the limit holds for it too.
        segments.append(_GLOBSTAR)
        length = sum(map(len, segments)) + len(segments) - 1
        if length > PATTERN_MAX:
            raise BadPattern(
                f"the pattern is a directory (it ends with '/'), which is written out as "
                f"'…/**': {length} characters, more than {PATTERN_MAX}: reserve a directory "
                "above it"
            )
    return tuple(segments)


@lru_cache(maxsize=_MEMO)
def _tokens(segment: str) -> tuple[_Token, ...]:
    """The steps of one segment pattern (not ``**``), or BadPattern."""
    tokens: list[_Token] = []
    at = 0
    while at < len(segment):
        char = segment[at]
        if char == "*":
            if tokens and tokens[-1] is None:
                within = _STARS.sub("*", segment)
                across = _STARS.sub("/**/", segment).strip("/")
                raise BadPattern(
                    f"'**' must be a whole path segment, not part of {segment!r}: write '*' "
                    f"for any characters within one name ({within!r}), or '**' as a segment "
                    f"of its own for any directories ({across!r})"
                )
            tokens.append(None)
            at += 1
        elif char == "?":
            tokens.append(_NAME_CHARS)
            at += 1
        elif char == "[":
            charset, at = _char_class(segment, at)
            tokens.append(charset)
        else:
            tokens.append((ord(char), ord(char) + 1))
            at += 1
    return tuple(tokens)


def _char_class(segment: str, start: int) -> tuple[_CharSet, int]:
    """The set of the class opening at ``segment[start]`` (``[``), and where it ends."""
    at = start + 1
    if segment.startswith("^", at):
        raise BadPattern(
            f"{segment!r}: '[^' means 'not' to some tools and a literal '^' to others: write "
            "'[!' for 'not' (e.g. [!a-z]), or put '^' after the first character for a "
            "literal '^'"
        )
    negated = segment.startswith("!", at)
    at += negated
    ranges: list[tuple[int, int]] = []
    first = True  # a ']' first in the class is a member, not its end
    while True:
        if at >= len(segment):
            raise BadPattern(
                f"unclosed '[' in {segment!r}: end the class with ']' (e.g. [abc] or [a-z]), "
                "or write [[] for a literal '['"
            )
        char = segment[at]
        if char == "]" and not first:
            break
        if segment.startswith("[:", at):
            raise BadPattern(
                f"{segment!r}: named classes such as [:alpha:] are not supported: write the "
                "ranges (e.g. [a-zA-Z])"
            )
        first = False
        if at + 2 < len(segment) and segment[at + 1] == "-" and segment[at + 2] != "]":
            low, high = char, segment[at + 2]
            if low > high:
                raise BadPattern(
                    f"{segment!r}: the range {low}-{high} is empty: write the lower "
                    f"character first ({high}-{low})"
                )
            ranges.append((ord(low), ord(high) + 1))
            at += 3
        else:
            ranges.append((ord(char), ord(char) + 1))
            at += 1
    members = _union(ranges)
    if negated:
        members = _complement(members)
    members = _intersection(members, _NAME_CHARS)  # one character of a name: never "/"
    if not members:
        raise BadPattern(f"{segment!r}: the class {segment[start : at + 1]} matches no character")
    return members, at + 1


# --- Sets of characters --------------------------------------------------------------


def _union(ranges: list[tuple[int, int]]) -> _CharSet:
    bounds: list[int] = []
    for low, high in sorted(ranges):
        if bounds and low <= bounds[-1]:
            bounds[-1] = max(bounds[-1], high)
        else:
            bounds += (low, high)
    return tuple(bounds)


def _complement(members: _CharSet) -> _CharSet:
    bounds = list(members)
    bounds = bounds[1:] if bounds and bounds[0] == 0 else [0, *bounds]
    bounds = bounds[:-1] if bounds[-1] == _LAST else [*bounds, _LAST]
    return tuple(bounds)


def _intersection(a: _CharSet, b: _CharSet) -> _CharSet:
    bounds: list[int] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i], b[j]), min(a[i + 1], b[j + 1])
        if low < high:
            bounds += (low, high)
        if a[i + 1] < b[j + 1]:
            i += 2
        else:
            j += 2
    return tuple(bounds)


def _sets_meet(a: _CharSet, b: _CharSet) -> bool:
    """Whether two sets have a character in common: ``_intersection``'s sweep, ending at
    the first common range."""
    i = j = 0
    while i < len(a) and j < len(b):
        if max(a[i], b[j]) < min(a[i + 1], b[j + 1]):
            return True
        if a[i + 1] < b[j + 1]:
            i += 2
        else:
            j += 2
    return False


# --- One segment ---------------------------------------------------------------------


class _Steps:
    """A segment pattern (not ``**``) as bits: bit k stands for its k-th step, so that a
    set of states of its automaton is one int and a move is a shift (bit-parallel, as in
    the Shift-And string search)."""

    __slots__ = ("classes", "count", "singles", "stars")

    def __init__(self, tokens: tuple[_Token, ...]) -> None:
        self.count = len(tokens)  # state ``count`` (bit ``1 << count``) is "all matched"
        self.stars = 0  # the bits of the ``*`` steps
        self.singles: dict[int, int] = {}  # a character (code point) -> bits of its steps
        classes: dict[_CharSet, int] = {}  # every other set -> the bits of its steps
        for k, token in enumerate(tokens):
            if token is None:
                self.stars |= 1 << k
            elif len(token) == 2 and token[1] - token[0] == 1:
                self.singles[token[0]] = self.singles.get(token[0], 0) | 1 << k
            else:
                classes[token] = classes.get(token, 0) | 1 << k
        self.classes = tuple(classes.items())

    def taking(self, code: int) -> int:
        """The bits of the steps (not ``*``) that take this character."""
        bits = self.singles.get(code, 0)
        for members, mask in self.classes:
            if bisect_right(members, code) % 2 == 1:
                bits |= mask
        return bits

    def meeting(self, members: _CharSet) -> int:
        """The bits of the steps (not ``*``) that take some character of ``members``."""
        if len(members) == 2 and members[1] - members[0] == 1:
            return self.taking(members[0])
        bits = 0
        for code, mask in self.singles.items():
            if bisect_right(members, code) % 2 == 1:
                bits |= mask
        for others, mask in self.classes:
            if _sets_meet(members, others):
                bits |= mask
        return bits


@lru_cache(maxsize=_MEMO)
def _steps(segment: str) -> _Steps:
    return _Steps(_tokens(segment))


def _is_literal(segment: str) -> bool:
    return "*" not in segment and "?" not in segment and "[" not in segment


def _name_matches(segment: str, name: str) -> bool:
    """Whether the segment pattern (not ``**``) matches the name: the set of states of its
    automaton, moved once per character, no backtracking."""
    if _is_literal(segment):
        return segment == name
    if segment == "*":  # the most common glob segment: any name
        return True
    steps = _steps(segment)
    stars = steps.stars
    # Each step but ``*`` takes exactly one character: a name of another length is out.
    if len(name) < steps.count - stars.bit_count() or (not stars and len(name) != steps.count):
        return False
    states = 1 | (1 & stars) << 1  # a ``*`` may match nothing: its state may be passed
    taking: dict[str, int] = {}
    for char in name:
        bits = taking.get(char)
        if bits is None:
            bits = taking[char] = steps.taking(ord(char))
        # A step that takes the character moves on; a ``*`` takes it and stays. Stars are
        # never side by side, so one shift passes every star that may now match nothing.
        states = (states & bits) << 1 | (states & stars)
        states |= (states & stars) << 1
        if not states:
            return False
    return states >> steps.count & 1 == 1


@lru_cache(maxsize=_MEMO)
def _segments_meet(x: str, y: str) -> bool:
    """Whether two segment patterns (not ``**``) match a common name.

    The product of their automata over characters: a pair of states (i, j) says that
    some text is matched by x's first i steps and by y's first j. It is walked row by row,
    one row per state i of x, the row's states j being the bits of an int, so the walk
    costs one row of bit operations per step of x. From (i, j):
    - to (i, j + 1) when x's step i is ``*`` (it takes y's character, or y's ``*`` ends)
      or y's step j is (it ends);
    - to (i + 1, j) when x's step i is ``*`` (it ends) or y's step j is (it takes x's
      character);
    - to (i + 1, j + 1) when both steps are sets with a character in common.
    Every set holds a character (``_char_class`` sees to it), so a ``*`` always has one
    to take. The empty name cannot sneak in as the witness: it would take both patterns
    to be all ``*``, and then every name is one.
    """
    if x == y:
        return True
    if _is_literal(x):
        return _name_matches(y, x)
    if _is_literal(y):
        return _name_matches(x, y)
    xs, ys = _tokens(x), _steps(y)
    every = (2 << ys.count) - 1  # the bits of y's states 0..count
    meeting: dict[_CharSet, int] = {}
    row = 1
    for token in xs:
        if token is None:
            # x's ``*`` takes y's characters: from the first state of the row, every later
            # one; then it ends, and the next row is this one.
            row = every & ~((row & -row) - 1)
            continue
        row |= (row & ys.stars) << 1  # y's ``*`` may end (never two side by side)
        bits = meeting.get(token)
        if bits is None:
            bits = meeting[token] = ys.meeting(token)
        row = (row & ys.stars) | (row & bits) << 1
        if not row:
            return False
    row |= (row & ys.stars) << 1
    return row >> ys.count & 1 == 1


# --- Whole patterns ------------------------------------------------------------------


class _Segments:
    """A pattern's segments as the bits ``matches`` moves: bit k stands for segment k.
    A plain class: dataclasses would cost the import more than this whole module."""

    __slots__ = ("count", "globs", "globstars", "literals")

    def __init__(self, segments: tuple[str, ...]) -> None:
        self.count = len(segments)  # state ``count`` is "all matched"
        self.globstars = 0  # the bits of the ``**`` segments
        self.literals: dict[str, int] = {}  # a segment without wildcards -> its bits
        globs: dict[str, int] = {}  # every other segment -> its bits
        for k, segment in enumerate(segments):
            if segment == _GLOBSTAR:
                self.globstars |= 1 << k
            else:
                kind = self.literals if _is_literal(segment) else globs
                kind[segment] = kind.get(segment, 0) | 1 << k
        self.globs = tuple(globs.items())


@lru_cache(maxsize=_MEMO)
def _compiled(segments: tuple[str, ...]) -> _Segments:
    return _Segments(segments)


def _meet(x: str, y: str) -> bool:
    """Whether two segments (not ``**``) match a common name: the cases that need no
    memo first (most pairs of segments are two names)."""
    if x == y:
        return True
    if _is_literal(x) and _is_literal(y):
        return False
    return _segments_meet(x, y)


@lru_cache(maxsize=_MEMO)
def _paths_meet(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two patterns (as segments) match a common path.

    While both patterns begin with plain segments, a common path's first name is matched
    by both (a plain segment takes exactly one name), so they must match a common name,
    and what follows must be common to the rest; the same from the end. Peeled so, most
    pairs are decided at once; the product walks what lies between.
    """
    first = 0
    while first < len(a) and first < len(b):
        here, there = a[first], b[first]
        if here == _GLOBSTAR or there == _GLOBSTAR:
            break
        if not _meet(here, there):
            return False
        first += 1
    end_a, end_b = len(a), len(b)
    while end_a > first and end_b > first:
        here, there = a[end_a - 1], b[end_b - 1]
        if here == _GLOBSTAR or there == _GLOBSTAR:
            break
        if not _meet(here, there):
            return False
        end_a -= 1
        end_b -= 1
    return _product(a[first:end_a], b[first:end_b])


def _product(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two sequences of segments match a common sequence of names (the empty
    one included: what was peeled off took names, or both patterns are ``**`` alone).

    The product of their automata over names, a pair (i, j) saying that some names are
    matched by a's first i segments and by b's first j, walked row by row: one row per
    segment of a, the row's states j being the bits of an int. From (i, j):
    - to (i, j + 1) when a[i] is ``**`` (it takes the name b[j] matches, or b[j] is a
      ``**`` too) or b[j] is ``**`` (passed);
    - to (i + 1, j) when a[i] is ``**`` (passed) or b[j] is (it takes a[i]'s name);
    - to (i + 1, j + 1) when both are plain segments that match a common name.
    Every segment matches some name, so a ``**`` always has one to take. Each pair of
    distinct segments (of a, of b) is checked once, and only when the walk reaches it.
    """
    stars = plain = 0  # the bits of b's ``**`` segments, and of the others
    alike: dict[str, int] = {}  # a plain segment of b -> the bits of its copies
    for j, segment in enumerate(b):
        if segment == _GLOBSTAR:
            stars |= 1 << j
        else:
            plain |= 1 << j
            alike[segment] = alike.get(segment, 0) | 1 << j
    every = (2 << len(b)) - 1  # the bits of b's states 0..len(b)
    # Per segment of a: the bits of b's segments checked against it, and of those that
    # match a common name with it.
    known: dict[str, tuple[int, int]] = {}
    row = 1
    for segment in a:
        if segment == _GLOBSTAR:
            # a's ``**`` takes b's names: from the first state of the row, every later
            # one; then it is passed, and the next row is this one.
            row = every & ~((row & -row) - 1)
            continue
        row |= (row & stars) << 1  # b's ``**`` may be passed (never two side by side)
        checked, meeting = known.get(segment, (0, 0))
        unchecked = row & plain & ~checked
        if unchecked:
            while unchecked:  # one check per distinct segment of b, for all its copies
                copies = alike[b[(unchecked & -unchecked).bit_length() - 1]]
                unchecked &= ~copies
                checked |= copies
                if _meet(segment, b[copies.bit_length() - 1]):
                    meeting |= copies
            known[segment] = (checked, meeting)
        # b's ``**`` takes a[i]'s name and stays; a plain segment of b meeting a[i] moves
        # on with it.
        row = (row & stars) | (row & meeting) << 1
        if not row:
            return False
    row |= (row & stars) << 1
    return row >> len(b) & 1 == 1


# --- Paths ---------------------------------------------------------------------------


def _names(path: str) -> list[str]:
    """The names of a repository-relative path, or ValueError. Read as POSIX reads it: a
    backslash or a ``C:`` is part of a name (``\\notes.txt``, ``C:/x``: git lists such
    files in a repository), only a leading ``/`` makes a path absolute."""
    if not path or path[0] == "/":
        raise ValueError(f"{path!r} is not a path relative to the repository's root")
    if "\0" in path:
        raise ValueError(f"{path!r} holds a NUL character, which no file name holds")
    names = [name for name in path.split("/") if name not in ("", ".")]
    if not names or ".." in names:
        raise ValueError(f"{path!r} does not name a file inside the repository")
    return names
