"""File-reservation patterns: what a pattern may be, which files it covers, and whether
two patterns cover a common file. Pure logic: no I/O, the standard library only, cheap to
import.

A session reserves paths or globs of its project's repository; two reservations conflict
when their patterns cover a common file. The rules, which docs/protocol.md repeats:

Writing a pattern (``normalize``)
  A pattern is a repository-relative POSIX path, optionally with wildcards. Surrounding
  whitespace, a leading ``./``, repeated ``/`` and ``.`` segments are dropped, and a
  trailing ``/`` means the directory itself: ``./src//api/`` is ``src/api``. Consecutive
  ``**`` segments are one: ``**/**`` is ``**``, ``a/**/**/b`` is ``a/**/b``. That form is
  the canonical one; it is what a reservation stores and shows.

  Refused, with a message that says what to write instead: an empty pattern (``.`` alone
  too: ``**`` reserves the whole repository); one longer than ``RESERVATION_PATTERN_MAX``
  characters; an absolute one (``/x``, ``\\x``, ``C:\\x``, ``C:/x``); a ``..`` segment; a
  backslash (directories are separated by ``/``; there is no escape character: write
  ``[*]``, ``[?]``, ``[[]`` for a literal ``*``, ``?``, ``[``); NUL, other control
  characters and lone surrogates; an unclosed ``[``; a class that matches no character
  (``[z-a]``); ``[^…]`` (git reads it as "not", other tools as a literal ``^``: write
  ``[!…]``); ``[:alpha:]``-style named classes (write the ranges, ``[a-zA-Z]``); and
  ``**`` mixed with other characters in one segment (``a**``, ``**b``, ``***``: ``**`` is a
  whole segment, ``*`` stays within a name).

Matching (``matches``)
  Segment by segment, like git's wildmatch: ``*`` matches any run of characters within
  one segment (never ``/``), ``?`` one character (not ``/``), ``[abc]``, ``[a-z]`` and
  ``[!a-z]`` one character of (or not of) a class, a literal ``]`` first in a class
  (``[]a]``) and ``-`` first or last (``[-a]``) are themselves; ``**`` as a whole segment
  matches zero or more segments (so ``a/**`` matches ``a`` too, and ``**`` alone matches
  everything). A leading dot is not special; matching is case-sensitive and compares
  characters exactly (no Unicode normalisation). A file name is any characters but ``/``
  and NUL.

  A pattern covers everything below what it matches: a reservation of a directory
  reserves its files. ``src/api`` covers ``src/api`` and ``src/api/x/y.py``; ``src/*.py``
  covers ``src/a.py`` (and ``src/a.py/z``, were it a directory); ``docs/*`` covers
  ``docs/a/b.md``. So a pattern covers a path iff it matches the path or one of its leading
  directories.

Overlap (``overlaps``)
  Two patterns overlap iff some path is covered by both: exactly, not by a prefix
  heuristic. ``src/*.py`` and ``src/*_test.*`` overlap (``src/a_test.py``); ``src/*.py``
  and ``src/*.js`` do not; ``src/**/x.py`` and ``src/a/**`` overlap; ``a/[bc]d`` and
  ``a/[!b]d`` overlap (``a/cd``) but ``a/[b]d`` and ``a/[!b]d`` do not; ``**`` overlaps
  every pattern and every pattern overlaps itself; ``a/b`` and ``a`` overlap (``a`` is
  above), ``a/b`` and ``a/c`` do not; ``a*/x`` and ``ab/y`` do not, but ``a*`` and ``ab/y``
  do.

How overlap is decided, and why this way: a covered set is a regular language, "P
followed by any number of further segments", so two of them meet iff the product of
their automata reaches a pair of accepting states. Over characters, such automata would
mix names and ``/``; over segments, a pattern's automaton is a line of states, one per
segment, where a ``**`` state loops on any name or is passed, and the last state loops on
any name (the "everything below"). The product steps both lines one name at a time, and a
step between two plain segments exists iff the two segment patterns match a common name:
again a product of two automata, over characters this time (a ``*`` state loops on any
character or is passed, the other states take one character of a set).

Because every pattern covers all below it, the product over segments needs no search: it
accepts as soon as either side has matched all its segments, or stands at a ``**`` (which
can take every name the other side still needs, after which the rest of its own segments
match names further below); until then both sides take each name together. So two
patterns overlap iff, up to the first ``**`` or the end of the shorter, each pair of
segments matches a common name. A consequence: a pattern with a ``**`` overlaps every
pattern that agrees with it up to there, a file's path included (``**/*.lock`` overlaps
``src/a.py``, through ``src/a.py/x.lock``): a pattern cannot tell a file from a
directory, so any name may be a directory.

The product over characters is walked row by row, a row's states being the bits of an int
(as in the Shift-And search), so it costs one row of bit operations per step of one
pattern; ``matches`` moves its sets of states as bits the same way. No backtracking,
nothing exponential: ``*a*a*a*a*a*a*a*b`` against ``aaaa…`` is linear in the name.
Results are memoized (bounded) per pattern, per pair of segments and per pair of
patterns, as a project's reservations are checked against each other again and again.
"""

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache

from .vocabulary import RESERVATION_PATTERN_MAX

__all__ = ["PATTERN_MAX", "BadPattern", "matches", "normalize", "overlaps"]

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
# Bounded memos: a server runs for weeks, and patterns are at most PATTERN_MAX long.
_MEMO = 8192

_NO_ESCAPE = "write [*], [?] or [[] to match a literal *, ? or ["


class BadPattern(ValueError):
    """A pattern that cannot be a reservation; str(exc) says what is wrong and what to write
    instead."""


def normalize(pattern: str) -> str:
    """The canonical form of a reservation pattern, or BadPattern."""
    return "/".join(_parse(_bounded(pattern)))


def matches(pattern: str, path: str) -> bool:
    """Whether a normalized ``pattern`` covers the repository-relative file ``path``.

    True iff the pattern matches ``path`` or one of its leading directories. ``path`` is
    read like a pattern's text (``./``, repeated ``/``, ``.`` segments and a trailing ``/``
    are dropped) but literally: ``*`` in a path is a character. Raises ValueError for a
    path that does not name a file in the repository (empty, absolute, a ``..`` segment, a
    NUL), BadPattern for a pattern that is not one.
    """
    compiled = _compiled(_parse(_bounded(pattern)))
    globstars, last = compiled.globstars, compiled.count
    # The set of states of the pattern's automaton over names, as bits: bit k says that
    # the names so far are matched by its first k segments.
    states = 1 | (1 & globstars) << 1  # a ``**`` may match no name: its state may be passed
    for name in _names(path):
        if states >> last & 1:  # it matched a leading directory: it covers what is below
            return True
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
    """Whether two normalized patterns cover at least one common path (exact, not a
    heuristic). Raises BadPattern for a pattern that is not one."""
    first, second = _parse(_bounded(a)), _parse(_bounded(b))
    if first > second:  # the relation is symmetric: one memo entry per pair
        first, second = second, first
    return _covered_sets_meet(first, second)


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
    segments: list[str] = []
    for segment in text.split("/"):
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


@lru_cache(maxsize=_MEMO)
def _covered_sets_meet(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether the covered sets of two patterns (as segments) meet.

    The product of their automata over names, from a pair (i, j) (some path is matched
    by a's first i segments and by b's first j):
    - if either side has matched all its segments, they meet: that side covers every
      path below, and the other can go on to match the rest of its segments, as every
      segment pattern matches some name;
    - if either side stands at a ``**``, they meet: the ``**`` can take every name the
      other side's remaining segments match (the other side then covers all below), and
      the rest of its own segments match names below those;
    - otherwise both stand at plain segments and take the next name together: to
      (i + 1, j + 1) if the two match a common name, nowhere if not.
    So the walk is a single line, one name at a time.
    """
    for here, there in zip(a, b, strict=False):
        if here == _GLOBSTAR or there == _GLOBSTAR:
            return True
        if not _segments_meet(here, there):
            return False
    return True


# --- Paths ---------------------------------------------------------------------------


def _names(path: str) -> list[str]:
    """The names of a repository-relative path, or ValueError."""
    if not path or path[0] in "/\\" or _DRIVE.match(path):
        raise ValueError(f"{path!r} is not a path relative to the repository's root")
    if "\0" in path:
        raise ValueError(f"{path!r} holds a NUL character, which no file name holds")
    names = [name for name in path.split("/") if name not in ("", ".")]
    if not names or ".." in names:
        raise ValueError(f"{path!r} does not name a file inside the repository")
    return names
