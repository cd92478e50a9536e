import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from maestro_mcp.cli.main import cli
from tests.support import LiveServer

Run = Callable[..., Result]


@pytest.fixture
def run(server: LiveServer) -> Run:
    """Run a `maestro` command in-process against the live server (over loopback HTTP)."""

    def invoke(*args: str, ok: bool = True, env: dict[str, str] | None = None) -> Result:
        result = CliRunner().invoke(
            cli, list(args), env={"MAESTRO_URL": server.base_url, **(env or {})}
        )
        if ok:
            assert result.exit_code == 0, (result.exit_code, result.output, result.stderr)
        return result

    return invoke


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)
