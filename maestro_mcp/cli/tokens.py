"""``maestro token …``: named tokens, over the server's admin-only REST API."""

import os
from pathlib import Path
from urllib.parse import quote

import click

from maestro_mcp.core.access import Scope, is_token_name
from maestro_mcp.protocol import TOKENS_PATH

from .context import Cli, client_command
from .errors import CliError, Exit
from .show import when


@click.group()
def token() -> None:
    """Make, list and revoke named tokens (an admin token, or a token-less local server).

    Each person and agent gets a token of their own: the server then needs a token on
    every request, loopback included, and every change names who made it.
    """


@token.command()
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    required=True,
    help="read: GETs and the live feeds; write: everything an agent or a person does; "
    "admin: also tokens and deleting projects.",
)
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the secret to this new file, readable by you alone (mode 0600).",
)
@client_command
def create(cli: Cli, name: str, scope: str, save: Path | None) -> None:
    """Make a token; its secret is printed once and never shown again.

    \b
    Example:
      maestro token create ci-bot --scope write
      maestro token create dashboard --scope read --save ~/.config/maestro/dashboard.token
    """
    if save is not None and save.exists():
        raise CliError(f"{save} exists already", exit_code=Exit.INVALID, hint="name a new file")
    try:
        made = cli.client.request("POST", TOKENS_PATH, json={"name": name, "scope": scope}).body
    except CliError as error:
        if error.code == "name_taken":
            error.hint = (
                f"if the answer to your last create was lost, its secret is too: "
                f"maestro token revoke {name}, then create it again"
            )
        raise
    unsaved: OSError | None = None
    if save is not None:
        try:
            _save_secret(save, made["secret"])
        except OSError as exc:
            unsaved = exc  # the secret is printed all the same: it exists nowhere else
    if cli.printer.json_mode:
        cli.printer.data(made)
    else:
        cli.printer.done(f"Token {made['name']} made (scope {made['scope']})", made)
        cli.printer.line(made["secret"])
        also = f"; it is also in {save}" if save is not None and unsaved is None else ""
        cli.printer.err.print(f"Keep the secret now: it is not shown again{also}.")
        if cli.token is None:  # the server took this request without a token
            cli.printer.err.print(
                "This server had no token: from now on every request needs one, this "
                "machine's included (export MAESTRO_TOKEN=…; the board asks for it)."
            )
            if scope != Scope.ADMIN:
                cli.printer.err.print(
                    "No admin token exists, so no one can make or revoke tokens: restart "
                    "the server with --token (its own admin token) to manage them."
                )
    if unsaved is not None:
        raise CliError(
            f"cannot write {save}: {unsaved.strerror}",
            exit_code=Exit.ERROR,
            hint="the token was made: its secret is printed above",
        )


@token.command("list")
@client_command
def list_(cli: Cli) -> None:
    """List the tokens (names and scopes; never their secrets).

    \b
    Example:
      maestro token list
    """
    tokens = cli.client.get(TOKENS_PATH).body
    rows = [[t["name"], t["scope"], when(t["createdAt"]), t["createdBy"]] for t in tokens]
    cli.printer.table(["NAME", "SCOPE", "CREATED", "BY"], rows, tokens)


@token.command()
@click.argument("name")
@client_command
def revoke(cli: Cli, name: str) -> None:
    """Revoke a token: every request with it is refused from now on.

    \b
    Example:
      maestro token revoke ci-bot
    """
    if not is_token_name(name):
        raise CliError(f"{name!r} is not a token name", exit_code=Exit.INVALID)
    gone = cli.client.request("DELETE", f"{TOKENS_PATH}/{quote(name, safe='')}").body
    cli.printer.done(f"Token {gone['name']} revoked", gone)


def _save_secret(path: Path, secret: str) -> None:
    """A new file only its owner can read, from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
