"""What every client command shares: the server, the token, the project, the output mode."""

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from maestro_mcp.core.names import same_name
from maestro_mcp.core.vocabulary import PROJECTS_LISTED_IN_ERRORS

from .client import DEFAULT_URL, MaestroClient
from .errors import CliError, Exit
from .output import Printer

F = TypeVar("F", bound=Callable[..., Any])


class Cli:
    def __init__(self, url: str, token: str | None, project: str | None, printer: Printer) -> None:
        self.url = url
        self.token = token
        self.project_ref = project
        self.printer = printer
        self._client: MaestroClient | None = None

    @property
    def client(self) -> MaestroClient:
        if self._client is None:
            self._client = MaestroClient(self.url, token=self.token)
        return self._client

    def connect(self, *, timeout: float, attempts: int, retry_timeouts: bool) -> MaestroClient:
        """The client, made with these bounds instead of the defaults (before any use)."""
        assert self._client is None, "the client is made already"
        self._client = MaestroClient(
            self.url,
            token=self.token,
            timeout=timeout,
            attempts=attempts,
            retry_timeouts=retry_timeouts,
        )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def find_project(self, ref: str) -> dict[str, Any]:
        """A project by id or by name (compared as core/names.py says: case, width and
        surrounding spaces do not count)."""
        projects: list[dict[str, Any]] = self.client.get("/api/projects").body
        by_id = [p for p in projects if p["id"] == ref]
        named = [p for p in projects if same_name(p["name"], ref)]
        if by_id or len(named) == 1:
            return (by_id or named)[0]
        if named:
            ids = ", ".join(p["id"] for p in named)
            raise CliError(
                f"several projects are named {ref!r} ({ids})",
                exit_code=Exit.INVALID,
                hint="use the project's id",
            )
        raise CliError(
            f"project {ref!r} not found",
            exit_code=Exit.NOT_FOUND,
            hint=_known(projects),
            code="not_found",
        )

    def project(self) -> dict[str, Any]:
        """The project this command works on: --project / MAESTRO_PROJECT, or the only one."""
        if self.project_ref:
            return self.find_project(self.project_ref)
        projects: list[dict[str, Any]] = self.client.get("/api/projects").body
        if len(projects) == 1:
            return projects[0]
        if not projects:
            raise CliError(
                "there is no project yet",
                exit_code=Exit.INVALID,
                hint='create one: maestro project create "My app"',
            )
        raise CliError(
            "say which project with --project or MAESTRO_PROJECT",
            exit_code=Exit.INVALID,
            hint=_known(projects),
        )


def sessions_by_id(cli: Cli, project_id: str) -> dict[str, dict[str, Any]]:
    """The project's sessions by id: what names them (``show.session_label``)."""
    found: list[dict[str, Any]] = cli.client.get("/api/sessions", projectId=project_id).body
    return {s["id"]: s for s in found}


def _known(projects: list[dict[str, Any]]) -> str:
    names = ", ".join(f"{p['name']} ({p['id']})" for p in projects[:PROJECTS_LISTED_IN_ERRORS])
    return f"projects: {names}" if names else "there are no projects yet"


def client_command(fn: F) -> F:
    """Adds --url, --token, --project and --json, builds a ``Cli``, turns errors into exit codes."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any, url: str, token: str | None, project: str | None, json_mode: bool, **kwargs: Any
    ) -> None:
        cli = Cli(url, token, project, Printer(json_mode))
        try:
            fn(cli, *args, **kwargs)
        except CliError as error:
            cli.printer.error(error)
            sys.exit(error.exit_code)
        finally:
            cli.close()

    decorated: Any = wrapper
    for option in (
        click.option("--json", "json_mode", is_flag=True, help="Machine-readable JSON output."),
        click.option(
            "--project", envvar="MAESTRO_PROJECT", help="Project id or name [env: MAESTRO_PROJECT]."
        ),
        click.option("--token", envvar="MAESTRO_TOKEN", help="Bearer token [env: MAESTRO_TOKEN]."),
        click.option(
            "--url",
            envvar="MAESTRO_URL",
            default=DEFAULT_URL,
            show_default=True,
            help="Server URL [env: MAESTRO_URL].",
        ),
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
