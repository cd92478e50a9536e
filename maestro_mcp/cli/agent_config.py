"""``maestro agent-config``: the MCP configuration snippet for an agent host."""

import re
import shutil
import sys
from pathlib import Path

import click

from maestro_mcp.agent_configs import DEFAULT_URL, HOSTS, Launch, Transport, render
from maestro_mcp.paths import resolve_database

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _maestro_executable() -> str:
    """The absolute path of this `maestro`, so the host finds it whatever its PATH."""
    candidates = [
        Path(sys.argv[0]),  # run as `maestro`
        Path(sys.executable).parent / "maestro",  # run as `python -m maestro_mcp` in a venv
    ]
    for candidate in candidates:
        if candidate.name == "maestro" and candidate.is_file():
            return str(candidate.absolute())
    found = shutil.which("maestro")
    return str(Path(found).absolute()) if found else "maestro"


@click.command("agent-config")
@click.argument("host", type=click.Choice(sorted(HOSTS)))
@click.option("--http", "use_http", is_flag=True, help="Connect to a running `maestro serve`.")
@click.option(
    "--url", default=DEFAULT_URL, show_default=True, help="The server's MCP URL (--http)."
)
@click.option("--project", envvar="MAESTRO_PROJECT", help="Default project for the agent (stdio).")
@click.option(
    "--token-env",
    metavar="VAR",
    help="With --http: send the token held in environment variable VAR (the host reads it "
    "when it connects; the configuration never holds the secret).",
)
@click.option(
    "--db",
    "database",
    metavar="FILE|URL",
    envvar="MAESTRO_DB",
    help="Database (file or postgresql:// URL) for the stdio server (default: the per-user file).",
)
def agent_config(
    host: str,
    use_http: bool,
    url: str,
    project: str | None,
    token_env: str | None,
    database: str | None,
) -> None:
    """Print the MCP configuration for HOST, with absolute paths filled in.

    The configuration goes to stdout, where to put it to stderr.

    \b
    Examples:
      maestro agent-config claude-code
      maestro agent-config cursor --http
      maestro agent-config codex --project my-app >> ~/.codex/config.toml
      maestro agent-config cursor --http --token-env MAESTRO_TOKEN
    """
    if token_env is not None:
        if not use_http:
            raise click.UsageError(
                "--token-env is for --http: a stdio server opens the database itself"
            )
        if not ENV_NAME.fullmatch(token_env):
            raise click.UsageError(f"--token-env takes a variable name, got {token_env!r}")
    args = ["mcp"]
    if database is not None:
        args += ["--db", resolve_database(database, None)]
    env = {"MAESTRO_PROJECT": project} if project else {}
    launch = Launch(
        command=_maestro_executable(), args=tuple(args), env=env, url=url, token_env=token_env
    )
    config, *alternatives = render(host, Transport.HTTP if use_http else Transport.STDIO, launch)
    # stdout carries exactly one file's content, so it can be redirected; hints go to stderr.
    click.echo(f"# put this in {config.where}:", err=True)
    click.echo(config.text, nl=False)
    for other in alternatives:
        click.echo(f"# or {other.where}:\n{other.text}", err=True, nl=False)
    if token_env is not None:
        click.echo(
            f"# set {token_env} to the token (maestro token create …) where {host} starts",
            err=True,
        )
