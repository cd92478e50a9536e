"""``maestro reservations …``: which files the sessions hold (file reservations, made by
agents through MCP or REST), and a person's release of one, whoever holds it."""

from typing import Any

import click

from .context import Cli, client_command
from .show import RESERVATION_COLUMNS, reservation_mode, reservation_row, session_label


class DefaultGroup(click.Group):
    """A group that runs its ``default`` command when none is named: ``maestro
    reservations --session S`` is ``maestro reservations list --session S``. A word that
    is no command stays one (click says there is no such command), and ``--help`` is
    the group's."""

    def __init__(self, *args: Any, default: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ctx.help_option_names):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, default="list")
def reservations() -> None:
    """Files the sessions hold: list them (the default), or release one as a person.

    Agents reserve the files they mean to edit (MCP claim_tasks and update_session, or
    REST); `maestro guard install` makes git refuse a commit that touches files another
    session holds.
    """


def sessions_by_id(cli: Cli, project_id: str) -> dict[str, dict[str, Any]]:
    """The project's sessions by id: what names the holders."""
    found: list[dict[str, Any]] = cli.client.get("/api/sessions", projectId=project_id).body
    return {s["id"]: s for s in found}


@reservations.command("list")
@click.option("--session", "session_id", help="Only this session's reservations.")
@client_command
def list_(cli: Cli, session_id: str | None) -> None:
    """List the files sessions hold: the live reservations, oldest first.

    Of the project, or of one session (--session): each pattern, exclusive or shared,
    the session holding it (name, agent, id), the task it was taken with, and until when.

    \b
    Example:
      maestro reservations
      maestro reservations list --session sess_1a2b3c4d --json
    """
    # A session's alone needs no project: its project is the session's.
    project_id = None if session_id is not None and not cli.project_ref else cli.project()["id"]
    found: list[dict[str, Any]] = cli.client.get(
        "/api/reservations", projectId=project_id, sessionId=session_id
    ).body
    named = found and not cli.printer.json_mode  # people read names; scripts, ids
    sessions = sessions_by_id(cli, found[0]["projectId"]) if named else {}
    rows = [reservation_row(r, sessions) for r in found]
    cli.printer.table(RESERVATION_COLUMNS, rows, found)


@reservations.command()
@click.argument("reservation_id")
@client_command
def release(cli: Cli, reservation_id: str) -> None:
    """Release one reservation, whoever holds it: a person's override.

    Its session sees reservation:released with reason override; the files are free for
    others at once.

    \b
    Example:
      maestro reservations release resv_1a2b3c4d
    """
    released = cli.client.request("DELETE", f"/api/reservations/{reservation_id}").body
    if released is None:  # the first attempt released it; its answer was lost
        cli.printer.done(f"Reservation released {reservation_id}", {"id": reservation_id})
        return
    holder = session_label(released["sessionId"], sessions_by_id(cli, released["projectId"]))
    cli.printer.done(
        f"Reservation released {reservation_id}: {released['pattern']} "
        f"({reservation_mode(released)}), held by {holder}",
        released,
    )
