"""The `maestro` command starts fast: its client commands load neither pydantic nor
the core's models, the MCP SDK or the HTTP app (only `serve` and `mcp` need them,
and import them when they run)."""

import subprocess
import sys

import click

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


def test_a_command_loads_only_its_own_module() -> None:
    """``maestro serve`` (and ``mcp``) load no client command: not their HTTP client, not
    their terminal output; a client command loads none of the server's modules."""
    probe = (
        "import sys, click, maestro_mcp.cli.main as m; "
        "m.cli.get_command(click.Context(m.cli), sys.argv[1]); "
        "print(','.join(sorted(n for n in sys.modules if n.startswith('maestro_mcp.cli.'))))"
    )

    def loaded(command: str) -> set[str]:
        out = subprocess.run(
            [sys.executable, "-c", probe, command], capture_output=True, text=True, check=True
        ).stdout.strip()
        return {name.removeprefix("maestro_mcp.cli.") for name in out.split(",")}

    assert loaded("serve") == {"main", "serve", "options"}
    assert "client" in loaded("task")
    assert "serve" not in loaded("task")


def test_every_command_is_listed_and_loads_under_its_name() -> None:
    from maestro_mcp.cli.main import COMMANDS, cli

    context = click.Context(cli)
    assert cli.list_commands(context) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None
        assert command.name == name
    assert cli.get_command(context, "no-such-command") is None
