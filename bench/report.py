"""The benchmark's table and where it is recorded: docs/performance.md, each run's block
between markers of its own (the suite on SQLite, on PostgreSQL, the board, the fan-out
on each store)."""

import os
import platform
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
MARKERS = {
    "sqlite": ("<!-- bench:start -->", "<!-- bench:end -->"),
    "postgresql": ("<!-- bench:postgresql:start -->", "<!-- bench:postgresql:end -->"),
    "board": ("<!-- bench:board:start -->", "<!-- bench:board:end -->"),
    "fanout": ("<!-- bench:fanout:start -->", "<!-- bench:fanout:end -->"),
    "fanout-postgresql": (
        "<!-- bench:fanout-postgresql:start -->",
        "<!-- bench:fanout-postgresql:end -->",
    ),
}


@dataclass
class Row:
    measure: str
    result: str
    target: str = ""
    reference: str = ""
    ratio: str = ""


def fmt(value: float, unit: str = "") -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.1f}{unit}" if value < 100 else f"{value:,.0f}{unit}"


def machine() -> str:
    """The machine a run measured, as its block's first line names it."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | result | target | reference (same run) | ratio |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.measure} | {r.result} | {r.target} | {r.reference} | {r.ratio} |" for r in rows
    ]
    return "\n".join(lines) + "\n"


def record(text: str, block: str) -> None:
    """Replace ``block``'s text in docs/performance.md (between its markers)."""
    start, end = MARKERS[block]
    doc = DOC.read_text()
    before, found, rest = doc.partition(start)
    if not found:
        raise SystemExit(f"{DOC} has no {start} marker")
    _, _, after = rest.partition(end)
    DOC.write_text(f"{before}{start}\n{text}{end}{after}")
