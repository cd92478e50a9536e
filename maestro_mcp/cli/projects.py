"""``maestro project …``"""

import sys
from pathlib import Path
from typing import Any

import click

from .context import Cli, client_command
from .show import project_fields, when


@click.group()
def project() -> None:
    """Create, list, show, change and delete projects."""


@project.command("list")
@client_command
def list_(cli: Cli) -> None:
    """List projects.

    \b
    Example:
      maestro project list --json
    """
    projects = cli.client.get("/api/projects").body
    rows = [[p["id"], p["name"], p["workingDir"], when(p["updatedAt"])] for p in projects]
    cli.printer.table(["ID", "NAME", "WORKING DIR", "UPDATED"], rows, projects)


@project.command()
@click.argument("name")
@click.option(
    "--working-dir", type=click.Path(file_okay=False, path_type=Path), help="Its repository."
)
@click.option("--description", help="What it is about.")
@click.option("--allow-duplicate", is_flag=True, help="Create it even if a project has this name.")
@client_command
def create(
    cli: Cli, name: str, working_dir: Path | None, description: str | None, allow_duplicate: bool
) -> None:
    """Create a project.

    \b
    Example:
      maestro project create "Web app" --working-dir ~/src/web-app
    """
    body: dict[str, Any] = {"name": name}
    if working_dir is not None:
        body["workingDir"] = str(working_dir.expanduser().resolve())
    if description is not None:
        body["description"] = description
    if allow_duplicate:
        body["allowDuplicate"] = True
    created = cli.client.request("POST", "/api/projects", json=body).body
    cli.printer.done(f"Project created {created['id']} ({created['name']})", created)


@project.command()
@click.argument("ref")
@client_command
def get(cli: Cli, ref: str) -> None:
    """Show a project (by id or name).

    \b
    Example:
      maestro project get "Web app"
    """
    found = cli.find_project(ref)
    cli.printer.record(project_fields(found), found)


@project.command()
@click.argument("ref")
@click.option("--name", help="New name.")
@click.option("--working-dir", help='New working directory ("" to clear).')
@click.option("--description", help="New description.")
@click.option("--if-version", type=int, help="Fail unless it is still at this version.")
@client_command
def update(
    cli: Cli,
    ref: str,
    name: str | None,
    working_dir: str | None,
    description: str | None,
    if_version: int | None,
) -> None:
    """Change a project's fields (only those given).

    \b
    Example:
      maestro project update "Web app" --description "The customer-facing app"
    """
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if working_dir is not None:
        body["workingDir"] = working_dir or None
    if description is not None:
        body["description"] = description
    target = cli.find_project(ref)
    updated = cli.client.request(
        "PATCH", f"/api/projects/{target['id']}", json=body, if_version=if_version
    ).body
    cli.printer.done(f"Project updated {updated['id']} (version {updated['version']})", updated)


@project.command()
@click.argument("ref")
@click.option("--if-version", type=int, help="Fail unless it is still at this version.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@client_command
def delete(cli: Cli, ref: str, if_version: int | None, yes: bool) -> None:
    """Delete a project with all its tasks and sessions.

    \b
    Example:
      maestro project delete proj_1a2b3c --yes
    """
    target = cli.find_project(ref)
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete {target['name']} with all its tasks and sessions?", abort=True)
    cli.client.request("DELETE", f"/api/projects/{target['id']}", if_version=if_version)
    cli.printer.done(f"Project deleted {target['id']} ({target['name']})", target)
