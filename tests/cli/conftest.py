import pytest
from click.testing import CliRunner, Result

from maestro_mcp.cli.main import cli
from tests.support.cli import Run
from tests.support.servers import LiveServer


@pytest.fixture
def run(server: LiveServer) -> Run:
    """Run a `maestro` command in-process against the live server (over loopback HTTP),
    ``input`` its standard input; unless ``ok=False``, the command must exit 0."""

    def invoke(
        *args: str, ok: bool = True, env: dict[str, str] | None = None, input: str | None = None
    ) -> Result:
        result = CliRunner().invoke(
            cli, list(args), env={"MAESTRO_URL": server.base_url, **(env or {})}, input=input
        )
        if ok:
            assert result.exit_code == 0, (result.exit_code, result.output, result.stderr)
        return result

    return invoke
