"""A database with many tasks, written in bulk (benchmark data, not a product path)."""

import asyncio
import json
import sqlite3
from pathlib import Path

from maestro_mcp.core.runtime import Core
from maestro_mcp.settings import Settings


async def _create_schema(path: Path) -> None:
    async with Core(Settings(database=path)):
        pass  # opening the core migrates the schema


def build(path: Path, projects: int, tasks_per_project: int) -> str:
    """Create ``projects`` x ``tasks_per_project`` tasks; returns one project's id."""
    asyncio.run(_create_schema(path))
    conn = sqlite3.connect(path)
    now = 1_700_000_000_000
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
                    "a realistic description " * 8,
                    ("pending", "in_progress", "completed")[t % 3],
                    ("low", "medium", "high", "urgent")[t % 4],
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
