"""The git ``pre-commit`` hook ``maestro guard install`` writes, and its removal.

The rules:
- The hook runs ``maestro guard check`` with the Python that installed it, by its
  absolute path (``sys.executable -P -m maestro_mcp``): it works from a virtualenv the
  committing shell has not activated, and from a GUI that runs git without one. ``-P``:
  git runs hooks in the repository's top level, whose own ``click.py`` or ``rich/``
  must not stand in for Maestro's dependencies.
- It holds no secret, and no server: ``guard check`` reads the server's URL, the token,
  the project and the session from the environment at commit time (``MAESTRO_URL``,
  ``MAESTRO_TOKEN``, ``MAESTRO_PROJECT``, ``MAESTRO_SESSION``), as every ``maestro``
  command does. Only ``--project``, when given to ``install``, is written into it.
- ``MAESTRO_GUARD=off`` (or 0, false, no) skips it at once, Python not even started
  (``guard check`` honours it too, for a hook manager that calls it directly).
- It never blocks a commit for want of Maestro: if that Python, or Maestro in it, is gone,
  it says so and lets the commit through (as ``guard check`` does when the server cannot
  be reached).
- A hook is ours if it carries ``MARKER``. Ours is replaced freely (install again to
  change its Python or project). Another one is left alone unless ``--force``, which
  keeps it beside the hook as ``pre-commit.before-maestro`` (``.1``, ``.2``, … when that
  name is taken); ``uninstall`` removes ours and puts the newest such backup back.
- That kept hook still runs: ours runs the newest backup first (when it is there and
  executable, as git would), with the same arguments, and stops the commit with its
  exit status if it fails; ``MAESTRO_GUARD=off`` does not skip it (``--no-verify``
  skips both, as it skips every hook).
- The file is written whole, then renamed into place: git never runs half a hook.
"""

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from maestro_mcp import __version__

from .errors import CliError, Exit

# What the guard reads from the environment at commit time, besides what every client
# command reads (MAESTRO_URL, MAESTRO_TOKEN, MAESTRO_PROJECT).
SESSION_ENV = "MAESTRO_SESSION"  # the committer's own session: the files it holds are its own
GUARD_ENV = "MAESTRO_GUARD"  # one of GUARD_OFF: nothing is checked
GUARD_OFF = frozenset({"off", "0", "false", "no"})

HOOK = "pre-commit"
MARKER = "# maestro-guard-hook"
BACKUP = HOOK + ".before-maestro"
HOOK_MODE = 0o755  # as git's own sample hooks: run by anyone who may commit


def hook_text(python: str, project: str | None, previous: str | None = None) -> str:
    """The hook's text: a POSIX shell script. ``previous``: the name of the hook it
    replaced, kept beside it, which it runs first."""
    arguments = ["-P", "-m", "maestro_mcp", "guard", "check"]
    run_previous = _previous_text(previous) if previous else ""
    if project is not None:
        arguments += ["--project", project]
    return f"""#!/bin/sh
{MARKER}: written by `maestro guard install` (Maestro {__version__}).
# Refuses a commit that touches files another Maestro session holds (file reservations).
# Bypass it once: git commit --no-verify, or {GUARD_ENV}=off git commit ...
# Remove it: maestro guard uninstall.
# The server, token, project and session are read from the environment at commit time
# (MAESTRO_URL, MAESTRO_TOKEN, MAESTRO_PROJECT, {SESSION_ENV}): no secret is written here.
# A server that cannot be reached, or does not answer in time, lets the commit through
# with a warning; a check the server refuses (a token, the project) stops it.
{run_previous}case "$(printf %s "${GUARD_ENV}" | tr '[:upper:]' '[:lower:]')" in
    {"|".join(sorted(GUARD_OFF))}) exit 0 ;;
esac
maestro_python={shlex.quote(python)}
if ! "$maestro_python" -P -c 'import maestro_mcp' >/dev/null 2>&1; then
    echo "maestro guard: Maestro is no longer installed for $maestro_python: this commit was" \\
        "not checked (run maestro guard install again, or maestro guard uninstall)" >&2
    exit 0
fi
exec "$maestro_python" {shlex.join(arguments)}
"""


def _previous_text(name: str) -> str:
    """The lines that run the hook ours replaced, kept beside it as ``name``."""
    return f"""# The pre-commit hook this one replaced, kept as {name}, runs first.
maestro_previous="$(dirname -- "$0")"/{shlex.quote(name)}
if [ -f "$maestro_previous" ] && [ -x "$maestro_previous" ]; then
    "$maestro_previous" "$@" || {{
        status=$?
        echo "maestro guard: the pre-commit hook kept as $maestro_previous failed" \\
            "(exit status $status): the commit is stopped" >&2
        exit "$status"
    }}
fi
"""


def is_ours(path: Path) -> bool:
    """Whether the hook at ``path`` is one ``install`` wrote."""
    try:
        return MARKER in path.read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return False


@dataclass(frozen=True)
class Installed:
    hook: Path
    replaced: bool  # a hook of ours was there, and was rewritten
    backup: Path | None  # where a hook that was not ours went (``--force``)


@dataclass(frozen=True)
class Removed:
    hook: Path
    removed: bool  # False: there was no hook
    restored: Path | None  # the backup put back in its place


def install(hooks: Path, python: str, project: str | None, *, force: bool) -> Installed:
    """Write the hook into ``hooks`` (made if missing); see the module's rules."""
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / HOOK
    ours = is_ours(hook)
    backup = None
    if hook.is_symlink() or hook.exists():
        if not ours and not force:
            raise CliError(
                f"{hook} is a pre-commit hook that is not Maestro's: left as it is",
                exit_code=Exit.CONFLICT,
                hint=f"--force replaces it, keeping it as {hooks / BACKUP}; or call "
                "`maestro guard check` from it",
            )
        if not ours:
            backup = _free_backup(hooks)
            os.replace(hook, backup)
    backups = _backups(hooks)
    previous = backups[-1].name if backups else None
    temporary = hooks / f".{HOOK}.maestro-{os.getpid()}"
    try:
        temporary.write_text(hook_text(python, project, previous))
        temporary.chmod(HOOK_MODE)
        os.replace(temporary, hook)
    finally:
        temporary.unlink(missing_ok=True)
    return Installed(hook, ours, backup)


def uninstall(hooks: Path) -> Removed:
    """Remove the hook if it is ours, and put the newest backup back; see the rules."""
    hook = hooks / HOOK
    if not (hook.is_symlink() or hook.exists()):
        return Removed(hook, False, None)
    if not is_ours(hook):
        raise CliError(
            f"{hook} is a pre-commit hook that is not Maestro's: left as it is",
            exit_code=Exit.CONFLICT,
        )
    backups = _backups(hooks)
    if backups:
        os.replace(backups[-1], hook)
        return Removed(hook, True, backups[-1])
    hook.unlink()
    return Removed(hook, True, None)


def _backups(hooks: Path) -> list[Path]:
    """The backups in ``hooks``, oldest first."""
    found = []
    for path in hooks.glob(BACKUP + "*"):
        suffix = path.name.removeprefix(BACKUP)
        if suffix == "":
            found.append((0, path))
        elif suffix[0] == "." and suffix[1:].isdigit():
            found.append((int(suffix[1:]), path))
    return [path for _, path in sorted(found)]


def _free_backup(hooks: Path) -> Path:
    backups = _backups(hooks)
    if not backups:
        return hooks / BACKUP
    last = backups[-1].name.removeprefix(BACKUP)
    return hooks / f"{BACKUP}.{int(last[1:] or 0) + 1}"
