"""The benchmark suite stays runnable: a quick run end to end (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_run_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    table = result.stdout
    for measure in (
        "write→all",
        "durable writes/s",
        "SSE clients",
        "MCP update_task, streamable HTTP",
        "MCP update_task, stdio",
        "reconnect replay",
        "connected WS clients",
        "server start → listening",
        "list a 1,000-task project",
        "bare SQLite",
        "bare relay",
    ):
        assert measure in table, measure
    assert "lost 0" in table
