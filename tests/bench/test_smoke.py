"""The benchmark suite stays runnable: a quick run end to end (no timing is asserted)."""

from tests.support import postgres
from tests.support.bench import quick_run
from tests.support.ci import missing


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
        "writes/s against the naive server, --durability normal, 2 clients, 1 in flight",
        "writes/s against the naive server, --durability normal, 2 clients, 8 in flight",
        "write→all p50 against the naive server, --durability normal, 2 clients, 8 in flight",
        "writes/s against the naive server, --durability full, 2 clients, 1 in flight",
        "writes/s against the naive server, --durability full, 2 clients, 8 in flight",
        "write→all p50 against the naive server, --durability full, 2 clients, 8 in flight",
    ):
        assert measure in table, measure
    assert "lost 0" in table
    assert table.count("naive lost 0") == 4  # both promises, both phases


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
