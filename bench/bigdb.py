"""A database with many tasks, written in bulk (benchmark data, not a product path).

Project ``p`` is ``proj_{p:08d}``; its task ``t`` is ``task_{p:06d}{t:06d}``, with a
description of ~200 bytes, statuses and priorities in turn and every other one labelled,
on both stores alike."""

import asyncio
import json
import sqlite3
from pathlib import Path

import psycopg

from maestro_mcp.core.runtime import Core
from maestro_mcp.core.storage.postgres import PgStore
from maestro_mcp.settings import Settings

NOW = 1_700_000_000_000
DESCRIPTION = "a realistic description " * 8
STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = ("low", "medium", "high", "urgent")


async def _create_schema(path: Path) -> None:
    async with Core(Settings(database=path)):
        pass  # opening the core migrates the schema


def build(path: Path, projects: int, tasks_per_project: int) -> str:
    """Create ``projects`` x ``tasks_per_project`` tasks; returns one project's id."""
    asyncio.run(_create_schema(path))
    conn = sqlite3.connect(path)
    now = NOW
    with conn:
        conn.executemany(
            "INSERT INTO projects (id, name, description, created_at, updated_at, version) "
            "VALUES (?, ?, '', ?, ?, 1)",
            [(f"proj_{p:08d}", f"project {p}", now, now) for p in range(projects)],
        )
        conn.executemany(
            "INSERT INTO tasks (id, project_id, title, description, prompt, status, priority, "
            "created_at, updated_at, version, labels) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, 1, ?)",
            (
                (
                    f"task_{p:06d}{t:06d}",
                    f"proj_{p:08d}",
                    f"task {t} of project {p}",
                    DESCRIPTION,
                    STATUSES[t % 3],
                    PRIORITIES[t % 4],
                    now + t,
                    now + t,
                    json.dumps(["backend"] if t % 2 else []),
                )
                for p in range(projects)
                for t in range(tasks_per_project)
            ),
        )
    conn.close()
    return f"proj_{projects // 2:08d}"


def build_postgres(url: str, projects: int, tasks_per_project: int) -> str:
    """The same database on PostgreSQL (``url``: an empty database); returns one
    project's id."""
    store = PgStore(url)
    try:
        store.migrate()
    finally:
        store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO projects (id, name, description, created_at, updated_at, version) "
            "SELECT 'proj_' || lpad(p::text, 8, '0'), 'project ' || p, '', %(now)s, %(now)s, 1 "
            "FROM generate_series(0, %(projects)s - 1) AS p ORDER BY p",
            {"now": NOW, "projects": projects},
        )
        conn.execute(
            "INSERT INTO tasks (id, project_id, title, description, prompt, status, priority, "
            "created_at, updated_at, version, labels) "
            "SELECT 'task_' || lpad(p::text, 6, '0') || lpad(t::text, 6, '0'), "
            "'proj_' || lpad(p::text, 8, '0'), 'task ' || t || ' of project ' || p, "
            "%(description)s, '', (%(statuses)s::text[])[t %% 3 + 1], "
            "(%(priorities)s::text[])[t %% 4 + 1], %(now)s + t, %(now)s + t, 1, "
            "CASE WHEN t %% 2 = 1 THEN ARRAY['backend'] ELSE '{}'::text[] END "
            "FROM generate_series(0, %(projects)s - 1) AS p, "
            "generate_series(0, %(tasks)s - 1) AS t ORDER BY p, t",
            {
                "description": DESCRIPTION,
                "statuses": list(STATUSES),
                "priorities": list(PRIORITIES),
                "now": NOW,
                "projects": projects,
                "tasks": tasks_per_project,
            },
        )
        conn.execute("ANALYZE")
    return f"proj_{projects // 2:08d}"
