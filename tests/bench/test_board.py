"""The board benchmark stays runnable: a quick run in Chromium yields every figure, and
the profile its breakdowns (no timing is asserted)."""

import re

from tests.support.bench import quick_run

NUMBER = r"-?[\d,]+(\.\d)?"


def test_quick_board_run_measures_the_first_view_and_the_live_page() -> None:
    output = quick_run("--board")
    figures = {
        "snapshot → DOM": rf"median {NUMBER} / max {NUMBER} ms",
        "snapshot → next frame": rf"median {NUMBER} / max {NUMBER} ms",
        "long tasks from the snapshot": rf"{NUMBER} per load, longest {NUMBER} ms",
        "write → page rendered it": rf"p50 {NUMBER} / p99 {NUMBER} / max {NUMBER} ms",
        "bare WS client": rf"p50 {NUMBER} / p99 {NUMBER} ms",
        "renders and frames": rf"{NUMBER} renders/s while the writer ran; until caught up "
        rf"{NUMBER} frames/s, longest frame gap {NUMBER} ms, \d+ long tasks",
        "fell behind the feed?": rf"(yes|no): lag p50 {NUMBER} ms in the first second, "
        rf"{NUMBER} ms in the last; caught up {NUMBER} ms",
        "the writer": rf"{NUMBER} writes/s \(200 PATCHes",
    }
    rows = [line for line in output.splitlines() if line.startswith("| ")]
    for measure, figure in figures.items():
        assert any(measure in row and re.search(figure, row) for row in rows), (measure, rows)
    # The quick board: 100 tasks and 5 sessions, all of them in its first view.
    assert "first view, 100 tasks, 5 sessions" in output
    assert re.search(r"First view ≤ 300 ms after the snapshot: (met|missed)", output)
    assert re.search(r"200 events/s: the page (fell behind|kept pace)", output)


def test_quick_board_profile_breaks_the_time_down() -> None:
    output = quick_run("--board", "--profile")
    for part in ("First view, from navigation to the next frame", "events/s for 3 s"):
        assert part in output
    assert output.count("the page's main thread busy") == 2
    assert output.count("the page's functions, total time") == 2
    assert re.search(rf"{NUMBER} ms +\d+% +script", output)
