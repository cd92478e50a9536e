"""``maestro guard …``: a git pre-commit hook that refuses a commit touching files
another session holds (file reservations), and the check it runs.

The check's rules (docs/operations.md, "The pre-commit guard"):
- The files: the PATHs given (read from the current directory, asked about relative to
  the repository's top level), else the paths the commit changes (cli/git.py).
- The project: ``--project`` / ``MAESTRO_PROJECT``, else the one whose ``workingDir`` is
  this repository's top level (or its main working tree's; symlinks resolved), else the
  only project if it has no ``workingDir``. Else this repository is no project's: a
  warning, nothing checked, the exit status 0.
- The session: ``--session`` / ``MAESTRO_SESSION``: an agent exports its session's id so
  that the files it holds itself do not stop its own commits.
- The answer (``POST /api/projects/{id}/reservations/check``): files held exclusively by
  another session are conflicts: each is listed with the pattern, the holder and until
  when, with how to bypass, and the exit status is 1. Files only shared by others are a
  note on stderr; the exit status is 0.
- It never blocks work because the server is unavailable: one that cannot be reached,
  does not answer within ``GUARD_TIMEOUT`` (a request that timed out is not sent again),
  or fails itself (5xx) is a warning on stderr, and the exit status is 0. A check the
  server refuses (a 4xx: no or a wrong token, no such project) or that cannot be asked
  (several projects work in this repository) is an error, with how to bypass, and the
  commit stops (the error's exit status): fix it, or bypass once.
- The holders are named best effort, after the check: each listed holder's session is
  read; one that cannot be read is shown by its id.
- ``MAESTRO_GUARD=off`` checks nothing.
"""

import os
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from maestro_mcp.core.vocabulary import LIST_LIMIT_MAX

from . import git, hook
from .context import Cli, client_command
from .errors import CliError, Exit
from .output import Printer, terminal_safe
from .show import session_label, when

# A server that does not answer in time is down, for a commit: it is not held up longer
# (a request is sent again only when it could not connect, never when it timed out).
GUARD_TIMEOUT = 5.0
GUARD_ATTEMPTS = 2
# One request asks about at most this many paths (the server's bound) and this many
# bytes of them (a quarter of the server's default body limit): a commit of many files
# is asked about in several.
PATHS_PER_REQUEST = LIST_LIMIT_MAX
BYTES_PER_REQUEST = 256 * 1024
# Conflicting files listed one by one; the rest are counted.
FILES_LISTED = 20
BYPASS = f"git commit --no-verify, or {hook.GUARD_ENV}=off git commit …"


@click.group()
def guard() -> None:
    """A git pre-commit hook that refuses commits touching files other sessions hold.

    Agents reserve the files they edit (file reservations); the hook asks the server
    which of a commit's files another session holds, and refuses the commit if any.
    """


@guard.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    help="A directory of the git working tree to guard [default: the current one].",
)
@click.option("--project", help="The project the hook checks against (written into the hook).")
@click.option("--force", is_flag=True, help="Replace a pre-commit hook that is not Maestro's.")
def install(directory: Path, project: str | None, force: bool) -> None:
    """Write a git pre-commit hook that runs `maestro guard check` on every commit.

    It goes where git looks for hooks (core.hooksPath and worktrees respected) and runs
    this Python. It reads the server, token, project and session from the environment
    at commit time: no secret is written into it. Installing again updates it; a hook
    that is not Maestro's is kept as pre-commit.before-maestro (--force), and the guard
    runs it first: if it fails, the commit stops.

    \b
    Example:
      maestro guard install
      maestro guard install --dir ~/src/web-app --project "Web app"
    """
    printer = Printer(json_mode=False)
    try:
        hooks = git.hooks_directory(directory.resolve())
        installed = hook.install(hooks, sys.executable, project, force=force)
    except CliError as error:
        printer.error(error)
        sys.exit(error.exit_code)
    if installed.backup is not None:
        printer.line(
            f"The hook that was there is kept as {installed.backup}: the guard runs it first"
        )
    verb = "updated" if installed.replaced else "installed"
    printer.done(f"Pre-commit guard {verb}: {installed.hook} (runs {sys.executable})", None)


@guard.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    help="A directory of the git working tree [default: the current one].",
)
def uninstall(directory: Path) -> None:
    """Remove the pre-commit hook `maestro guard install` wrote.

    The hook it replaced (--force) is put back; a hook that is not Maestro's is left alone.

    \b
    Example:
      maestro guard uninstall
    """
    printer = Printer(json_mode=False)
    try:
        removed = hook.uninstall(git.hooks_directory(directory.resolve()))
    except CliError as error:
        printer.error(error)
        sys.exit(error.exit_code)
    if not removed.removed:
        printer.line(f"There is no pre-commit hook at {removed.hook}: nothing to remove")
    elif removed.restored is not None:
        printer.done(f"Pre-commit guard removed; {removed.restored.name} is the hook again", None)
    else:
        printer.done(f"Pre-commit guard removed: {removed.hook}", None)


@guard.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--session",
    "session_id",
    envvar=hook.SESSION_ENV,
    help=f"Your own session: the files it holds are yours to commit [env: {hook.SESSION_ENV}].",
)
@client_command
def check(cli: Cli, paths: tuple[str, ...], session_id: str | None) -> None:
    """Check the files of a commit against the files other sessions hold.

    Without PATHs, the staged changes (what the pre-commit hook checks). Exit status 1
    when another session holds one of them exclusively, 0 otherwise. When the server
    cannot be reached, does not answer in time or fails (5xx), or when no project works
    in this repository: a warning and 0 (the guard never blocks work because the server
    is down). When the server refuses the check (4xx: a token, the project): an error,
    and its exit status. MAESTRO_GUARD=off checks nothing.

    \b
    Example:
      maestro guard check
      maestro guard check src/api/routes.py --session sess_1a2b3c4d
    """
    if os.environ.get(hook.GUARD_ENV, "").strip().lower() in hook.GUARD_OFF:
        cli.printer.err.print(f"maestro guard: {hook.GUARD_ENV}=off: nothing checked")
        return
    top = git.top_level(Path.cwd())
    if paths:
        asked = [repository_path(path, top) for path in paths]
    elif top is None:
        raise CliError(
            "not in a git working tree: run it in one, or name the files to check",
            exit_code=Exit.INVALID,
        )
    else:
        asked = git.staged_paths(top)
    if not asked:
        return
    cli.connect(timeout=GUARD_TIMEOUT, attempts=GUARD_ATTEMPTS, retry_timeouts=False)
    try:
        project = guarded_project(cli, git.working_trees(top) if top is not None else [])
        if project is None:
            return
        result = checked(cli, project["id"], asked, session_id)
    except CliError as error:
        if unavailable(error):
            _could_not_check(cli.printer, error)
            return
        raise _refused(error) from None
    subject = "the files named" if paths else "this commit"
    if cli.printer.json_mode:
        cli.printer.data({"projectId": project["id"], **result})
    else:
        sessions = holders_by_id(cli, [*result["conflicts"], *result["shared"]])
        if result["shared"]:
            _report_shared(cli.printer, subject, result["shared"], sessions)
        if result["conflicts"]:
            _report_conflicts(cli.printer, subject, result["conflicts"], sessions)
    if result["conflicts"]:
        sys.exit(1)


def unavailable(error: CliError) -> bool:
    """Whether ``error`` says the server could not be asked: not reached, no answer in
    time, or failing itself (5xx). The guard lets the commit through then; any other
    error (the server refused the question: a 4xx) stops it."""
    return error.code in {"unreachable", "timeout"} or (error.status or 0) >= 500


def _refused(error: CliError) -> CliError:
    """A refused check as the error that stops the commit: what was wrong, and how to
    commit anyway."""
    fix = f"{error.hint}; " if error.hint else ""
    return CliError(
        f"maestro guard: cannot check the files: {error.message}; the commit is stopped",
        exit_code=error.exit_code,
        hint=f"{fix}to commit anyway: {BYPASS}",
        code=error.code,
        details=error.details,
        status=error.status,
    )


def repository_path(path: str, top: Path | None) -> str:
    """A PATH given on the command line, relative to the repository's top level (as given
    outside a working tree); its directory's symlinks resolved, not the file's own."""
    if top is None:
        return path
    given = Path(os.path.abspath(path))
    located = Path(os.path.realpath(given.parent), given.name)
    try:
        return located.relative_to(top).as_posix()
    except ValueError:
        raise CliError(
            f"{path} is not in the repository at {top}", exit_code=Exit.INVALID
        ) from None


def guarded_project(cli: Cli, trees: list[Path]) -> dict[str, Any] | None:
    """The project the files are checked against (see the module's rules); None, with a
    warning, when this repository is no project's."""
    if cli.project_ref:
        return cli.find_project(cli.project_ref)
    projects: list[dict[str, Any]] = cli.client.get("/api/projects").body
    here = {str(tree) for tree in trees}
    found = [p for p in projects if p["workingDir"] and _real(p["workingDir"]) in here]
    if len(found) > 1:
        ids = ", ".join(p["id"] for p in found)
        raise CliError(
            f"several projects have this repository as their working directory ({ids})",
            exit_code=Exit.INVALID,
            hint="say which with --project or MAESTRO_PROJECT",
        )
    if found:
        return found[0]
    if len(projects) == 1 and not projects[0]["workingDir"]:
        return projects[0]
    if not projects:
        why = "there is no project"
    elif len(projects) == 1:
        only = projects[0]
        why = (
            f"the only project, {only['name']} ({only['id']}), works in {only['workingDir']}, "
            "not in this repository"
        )
    else:
        why = "no project has this repository as its working directory"
    _not_checked(
        cli.printer,
        f"{why}: the files were not checked",
        "name the project with --project or MAESTRO_PROJECT, or set its working directory "
        "(maestro project update … --working-dir)",
    )
    return None


def _real(directory: str) -> str:
    return os.path.realpath(os.path.expanduser(directory))


def checked(
    cli: Cli, project_id: str, paths: list[str], session_id: str | None
) -> dict[str, list[dict[str, Any]]]:
    """The server's answer for ``paths``, asked in as many requests as their number and
    size need, put together."""
    result: dict[str, list[dict[str, Any]]] = {"conflicts": [], "shared": []}
    url = f"/api/projects/{project_id}/reservations/check"
    waiting = _batches(paths)
    while waiting:
        batch = waiting.pop(0)
        try:
            answer = cli.client.request("POST", url, json={"paths": batch, "sessionId": session_id})
        except CliError as exc:
            # More work than one request may ask of the server (paths x the reservations
            # that may cover them): the same question in halves, never a commit let
            # through unchecked for being large.
            if exc.status != HTTPStatus.REQUEST_ENTITY_TOO_LARGE or len(batch) == 1:
                raise
            half = len(batch) // 2
            waiting[:0] = [batch[:half], batch[half:]]
            continue
        for key, found in result.items():
            found += answer.body[key]
    return result


def _batches(paths: list[str]) -> list[list[str]]:
    batches: list[list[str]] = [[]]
    size = 0
    for path in paths:
        cost = len(path.encode(errors="surrogateescape")) + 8  # quotes, comma, escapes
        if batches[-1] and (
            len(batches[-1]) == PATHS_PER_REQUEST or size + cost > BYTES_PER_REQUEST
        ):
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += cost
    return batches


def holders_by_id(cli: Cli, entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The sessions holding the files listed, by id, to name them: best effort, one
    request each; a session that cannot be read (or a server that stops answering) is
    shown by its id."""
    ids: dict[str, None] = {}
    for entry in entries[:FILES_LISTED]:
        ids.update((r["sessionId"], None) for r in entry["heldBy"])
    found: dict[str, dict[str, Any]] = {}
    for session_id in ids:
        try:
            found[session_id] = cli.client.get(f"/api/sessions/{session_id}").body
        except CliError as error:
            if unavailable(error):
                break  # the others would wait as long: their ids will do
    return found


def _holders(held_by: list[dict[str, Any]], sessions: dict[str, dict[str, Any]]) -> str:
    return "; ".join(
        f"{terminal_safe(r['pattern'])} held {'exclusively' if r['exclusive'] else 'shared'} "
        f"by {session_label(r['sessionId'], sessions)} until {when(r['expiresAt'])}"
        for r in held_by
    )


def _entry(entry: dict[str, Any], sessions: dict[str, dict[str, Any]]) -> Text:
    """A file and its holders, as text (never read as rich markup: names and patterns
    are others' strings, ``[abc]`` included)."""
    return Text(f"  {terminal_safe(entry['path'])}: {_holders(entry['heldBy'], sessions)}")


def _report_conflicts(
    printer: Printer,
    subject: str,
    conflicts: list[dict[str, Any]],
    sessions: dict[str, dict[str, Any]],
) -> None:
    count = len(conflicts)
    files = "file" if count == 1 else "files"
    printer.err.print(
        Text.assemble(
            ("✗ ", "red"),
            f"maestro guard: {count} {files} of {subject} {'is' if count == 1 else 'are'} "
            "held by another session:",
        )
    )
    for conflict in conflicts[:FILES_LISTED]:
        printer.err.print(_entry(conflict, sessions))
    if count > FILES_LISTED:
        printer.err.print(Text(f"  (and {count - FILES_LISTED} more)"))
    printer.err.print(
        Text.assemble(
            ("  hint: ", "dim"),
            "wait for them to be released, or ask their holder (maestro reservations lists "
            f"them); if one is your own session, export {hook.SESSION_ENV}=<its id>; to "
            f"commit anyway: {BYPASS}",
        )
    )


def _report_shared(
    printer: Printer,
    subject: str,
    shared: list[dict[str, Any]],
    sessions: dict[str, dict[str, Any]],
) -> None:
    printer.err.print(Text(f"maestro guard: note: files of {subject} that other sessions share:"))
    for entry in shared[:FILES_LISTED]:
        printer.err.print(_entry(entry, sessions))
    if len(shared) > FILES_LISTED:
        printer.err.print(Text(f"  (and {len(shared) - FILES_LISTED} more)"))


def _could_not_check(printer: Printer, error: CliError) -> None:
    """The server could not be asked: a warning, and the commit goes ahead."""
    if printer.json_mode:
        printer.error(error)
        return
    _not_checked(printer, f"could not check the files: {error.message}", error.hint)


def _not_checked(printer: Printer, why: str, hint: str | None) -> None:
    """A warning that nothing was checked; the commit goes ahead."""
    printer.err.print(
        Text.assemble(("! ", "yellow"), f"maestro guard: {why}; the commit is not blocked")
    )
    if hint:
        printer.err.print(Text.assemble(("  hint: ", "dim"), hint))
