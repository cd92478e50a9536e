"""docs/cli.md lists every command and is what the commands say about themselves."""

from pathlib import Path

import click

from maestro_mcp.cli.main import cli
from maestro_mcp.cli.reference import leaves, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_page_is_up_to_date() -> None:
    assert DOC.read_text() == render(), (
        "docs/cli.md is stale: python -m maestro_mcp.cli.reference > docs/cli.md"
    )


def test_every_command_is_documented_with_an_example() -> None:
    commands = leaves(cli, "maestro")
    paths = {path for path, _ in commands}
    assert {
        "maestro project create", "maestro project list", "maestro project get",
        "maestro project update", "maestro project delete",
        "maestro task create", "maestro task list", "maestro task get",
        "maestro task update", "maestro task delete",
        "maestro session create", "maestro session list", "maestro session get",
        "maestro session update", "maestro session delete", "maestro session add-task",
        "maestro session remove-task", "maestro session log",
        "maestro watch", "maestro status", "maestro serve", "maestro mcp",
        "maestro export", "maestro import", "maestro agent-config",
        "maestro reservations list", "maestro reservations release",
        "maestro guard install", "maestro guard uninstall", "maestro guard check",
    } <= paths  # fmt: skip
    text = DOC.read_text()
    for path, command in commands:
        assert f"### `{path}`" in text
        assert "maestro " in (command.help or "").split("Example")[-1], f"{path} has no example"
        context = click.Context(command, info_name=path)
        for param in command.get_params(context):
            if (
                isinstance(param, click.Option)
                and "--help" not in param.opts
                and param.opts[0] not in ("--url", "--token", "--project", "--json")
            ):
                assert f"`{param.opts[0]}`" in text, f"{path} {param.opts[0]} undocumented"
