"""Where the board's time goes: Chromium traces of one first view and of a few seconds of
the live feed, summed per kind of work on the page's main thread and per JS function.

    python -m bench --board --profile           # the full board; prints, records nothing
    python -m bench --board --profile --quick   # the small one

The traces are Chromium's own (``Tracing`` over CDP, through Playwright): the timeline's
events of the renderer's main thread give each kind of work its exclusive time (a
script's forced layout counts as layout, not script), and the V8 sampling profiler's
samples give each JS function its self time. Tracing costs the page some time: these
are proportions, the figures are bench/board.py's.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page

from . import board
from .board_seed import Seeded
from .report import fmt

TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8.execute",
    "disabled-by-default-v8.cpu_profiler",
    "blink.user_timing",
]
MAIN_THREAD = "CrRendererMain"
LIVE_SECONDS = 3.0  # of writes at the benchmark's rate, traced
TOP = 12  # functions listed
# Kinds of main-thread work by trace event name; garbage collection by prefix. The rest
# is "other": mostly tasks' own time outside any traced kind (Blink's native work, such
# as dispatching events no script listens to).
KINDS = {
    "script": {
        "FunctionCall",
        "EvaluateScript",
        "TimerFire",
        "FireAnimationFrame",
        "EventDispatch",
        "RunMicrotasks",
        "v8.compile",
        "v8.compileModule",
        "v8.evaluateModule",
        "v8.run",
        "v8.callFunction",
        "V8.Execute",
    },
    "parse HTML and CSS": {"ParseHTML", "ParseAuthorStyleSheet"},
    "style": {"UpdateLayoutTree", "RecalculateStyles"},
    "layout": {"Layout"},
    "paint and composite": {
        "PrePaint",
        "Paint",
        "Layerize",
        "UpdateLayer",
        "UpdateLayerTree",
        "CompositeLayers",
        "Commit",
    },
}
GC_PREFIXES = ("V8.GC", "MinorGC", "MajorGC", "BlinkGC")


def kind_of(name: str) -> str:
    if name.startswith(GC_PREFIXES):
        return "garbage collection"
    for kind, names in KINDS.items():
        if name in names:
            return kind
    return "other"


def main_thread(events: list[dict[str, Any]]) -> tuple[int, int]:
    """The (pid, tid) of the busiest renderer main thread: the board's page."""
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
        if e["args"].get("name") == MAIN_THREAD
    }
    busy: Counter[tuple[int, int]] = Counter()
    for e in events:
        if e.get("ph") == "X" and (e["pid"], e["tid"]) in mains:
            busy[e["pid"], e["tid"]] += e.get("dur", 0)
    assert busy, "the trace has no renderer main thread"
    return busy.most_common(1)[0][0]


def by_kind(events: list[dict[str, Any]], thread: tuple[int, int]) -> dict[str, float]:
    """Exclusive ms per kind of work on ``thread``: each event's duration less its children's."""
    spans = sorted(
        (e["ts"], e["ts"] + e.get("dur", 0), e["name"])
        for e in events
        if e.get("ph") == "X" and (e["pid"], e["tid"]) == thread
    )
    spent: defaultdict[str, float] = defaultdict(float)
    stack: list[list[Any]] = []  # [end, name, time taken by children]

    def close(frame: list[Any], start: float) -> None:
        end, name, children = frame
        spent[kind_of(name)] += end - start - children

    starts: list[float] = []
    for start, end, name in spans:
        while stack and stack[-1][0] <= start:
            close(stack.pop(), starts.pop())
        if stack:
            stack[-1][2] += end - start
        stack.append([end, name, 0.0])
        starts.append(start)
    while stack:
        close(stack.pop(), starts.pop())
    return {kind: us / 1000 for kind, us in spent.items()}


@dataclass
class Functions:
    """Ms per JS function, from the sampling profiler: ``self`` where it ran itself
    (built-ins such as createElement count as functions; ``(program)`` is the engine's
    and Blink's own work outside any script), ``total`` where it was on the stack,
    for the page's own functions."""

    self: list[tuple[str, float]]
    total: list[tuple[str, float]]


def by_function(events: list[dict[str, Any]], thread: tuple[int, int]) -> Functions:
    """The sampling profiler's chunks of ``thread``, summed per function."""
    profiles = {
        e["id"] for e in events if e.get("name") == "Profile" and (e["pid"], e["tid"]) == thread
    }
    frames: dict[tuple[str, int], tuple[str, bool]] = {}  # node → (function, the page's own)
    parents: dict[tuple[str, int], tuple[str, int]] = {}
    self_us: Counter[str] = Counter()
    total_us: Counter[str] = Counter()
    for e in events:
        if e.get("name") != "ProfileChunk" or e.get("id") not in profiles:
            continue
        data = e["args"]["data"]
        profile = data.get("cpuProfile", {})
        for node in profile.get("nodes", []):
            key = (e["id"], node["id"])
            frames[key] = where(node["callFrame"])
            if "parent" in node:
                parents[key] = (e["id"], node["parent"])
        deltas = data.get("timeDeltas", [])
        for sample, delta in zip(profile.get("samples", []), deltas, strict=False):
            key = (e["id"], sample)
            self_us[frames.get(key, ("(unknown)", False))[0]] += delta
            on_stack: set[str] = set()
            while key in frames:
                name, own = frames[key]
                if own:
                    on_stack.add(name)
                key = parents.get(key, ("", -1))
            for name in on_stack:
                total_us[name] += delta
    return Functions(
        [(name, us / 1000) for name, us in self_us.most_common(TOP)],
        [(name, us / 1000) for name, us in total_us.most_common(TOP)],
    )


def where(frame: dict[str, Any]) -> tuple[str, bool]:
    """A frame's function, named with its file and line when it has them, and whether it
    is one of the page's own (served over HTTP: not a built-in, not the probe)."""
    name = frame.get("functionName") or "(anonymous)"
    url = frame.get("url") or ""
    if not url.startswith("http"):
        return name, False
    line = frame.get("lineNumber", -1) + 1
    return f"{name} {PurePosixPath(urlsplit(url).path).name}:{line}", True


def dispatched(events: list[dict[str, Any]], thread: tuple[int, int]) -> list[tuple[str, int]]:
    """The DOM events dispatched on ``thread``, most frequent first: Blink dispatches some
    of its own (a <select>'s slotchange per option inserted) where no script listens."""
    types: Counter[str] = Counter(
        str(e.get("args", {}).get("data", {}).get("type"))
        for e in events
        if e.get("name") == "EventDispatch" and (e["pid"], e["tid"]) == thread
    )
    return types.most_common(3)


@dataclass
class Breakdown:
    what: str
    kinds: dict[str, float]
    functions: Functions
    events: list[tuple[str, int]]

    def text(self) -> str:
        total = sum(self.kinds.values())
        lines = [f"{self.what}: the page's main thread busy {fmt(total)} ms"]
        lines += [
            f"  {fmt(ms):>8} ms  {ms / total:4.0%}  {kind}"
            for kind, ms in sorted(self.kinds.items(), key=lambda item: -item[1])
        ]
        lines.append("  DOM events dispatched: " + ", ".join(f"{t} x{n:,}" for t, n in self.events))
        lines.append("  self time by function:")
        lines += [f"  {fmt(ms):>8} ms  {name}" for name, ms in self.functions.self]
        lines.append("  the page's functions, total time (on the stack):")
        lines += [f"  {fmt(ms):>8} ms  {name}" for name, ms in self.functions.total]
        return "\n".join(lines)


async def traced(browser: Browser, page: Page, work: Callable[[], Awaitable[None]]) -> Any:
    await browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    try:
        await work()
    finally:
        trace = await browser.stop_tracing()
    return json.loads(trace)["traceEvents"]


def breakdown(what: str, events: list[dict[str, Any]]) -> Breakdown:
    thread = main_thread(events)
    return Breakdown(
        what, by_kind(events, thread), by_function(events, thread), dispatched(events, thread)
    )


async def run(size: board.BoardSize, workdir: Path) -> str:
    """Both breakdowns, as text, on the board benchmark's board."""
    async with board.staged(size, workdir) as (url, seeded, browser):
        return await profile(browser, url, seeded, size)


async def profile(browser: Browser, url: str, seeded: Seeded, size: board.BoardSize) -> str:
    found: list[Breakdown] = []
    context = await browser.new_context(viewport=board.VIEWPORT)
    try:
        await context.add_init_script(path=board.PROBE)
        watched = board.Watched(await context.new_page())

        async def first_view() -> None:
            await watched.page.goto(url + "/")
            await watched.probe("firstViewDone")

        events = await traced(browser, watched.page, first_view)
        found.append(breakdown("First view, from navigation to the next frame", events))

        writes = board.plan(seeded, round(size.rate * LIVE_SECONDS) + 1)
        [warm] = await board.paced(url, writes[:1], size.rate)
        await watched.probe(f"until({warm.seq})")

        async def feed() -> None:
            done = await board.paced(url, writes[1:], size.rate)
            await watched.probe(f"until({max(w.seq for w in done)})")

        events = await traced(browser, watched.page, feed)
        found.append(
            breakdown(f"{size.rate} events/s for {LIVE_SECONDS:g} s, until caught up", events)
        )
        watched.check()
    finally:
        await context.close()
    return "\n\n".join(b.text() for b in found) + "\n"
