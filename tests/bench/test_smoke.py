"""The benchmark suite stays runnable: a quick run end to end (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

from tests.support import postgres
from tests.support.ci import missing

ROOT = Path(__file__).resolve().parents[2]


def quick_run(*options: str) -> str:
    """The table of ``python -m bench --quick *options``, which must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_quick_benchmark_run_prints_the_table() -> None:
    table = quick_run()
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


def test_quick_postgresql_benchmark_run_prints_the_table() -> None:
    if postgres.find_pg_bin("initdb") is None:
        missing("the PostgreSQL benchmark starts a cluster of its own: initdb is not installed")
    table = quick_run("--db", "postgresql")
    for measure in (
        "1 instance, 1 in flight",
        "1 instance, 8 in flight",
        "2 instances, clients and writes split",
        "SSE clients",
        "commit ceiling",
        "on PostgreSQL: server start → listening",
        "list a 1,000-task project on PostgreSQL",
        "bare PostgreSQL",
        "bare relay",
    ):
        assert measure in table, measure
    assert "missed 0" in table
