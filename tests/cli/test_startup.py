"""The `maestro` command starts fast: its client commands load neither pydantic nor
the core's models, the MCP SDK or the HTTP app (only `serve` and `mcp` need them,
and import them when they run)."""

import subprocess
import sys

HEAVY = ("pydantic", "mcp", "starlette", "uvicorn", "maestro_mcp.core.models", "http_api")


def test_the_cli_loads_nothing_heavy_to_start() -> None:
    probe = (
        "import sys, maestro_mcp.cli.main; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
