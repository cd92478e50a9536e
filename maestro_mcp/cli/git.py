"""What the pre-commit guard asks git, each question one ``git`` process.

- Where the working tree's top level is (None outside one), and the main working tree's
  when this one is a linked worktree (``git worktree add``): a project's ``workingDir``
  may name either.
- Where its hooks go: ``git rev-parse --git-path hooks``, which follows
  ``core.hooksPath`` and worktrees (the hooks of a linked worktree are the repository's).
- Which paths a commit changes: ``git diff --cached --name-only -z --no-renames
  --diff-filter=ACDMRT``, run at the top level (``diff.relative`` then changes nothing).
  Without rename detection a renamed file is its old path deleted and its new one added:
  both sides are asked about, as a rename changes both. The index is the one git gives
  the hook (``GIT_INDEX_FILE``, which ``git commit -a`` and ``git commit PATH`` set):
  the environment is passed on as it is.
- A merge's commit (``MERGE_HEAD`` is there: the person resolved a conflicted merge):
  only the paths that differ from every parent, the person's own resolution, not all the
  merge brings in from the other side (already committed there, by whoever held them).
- Paths are bytes to git: they are read with the file system's encoding (undecodable
  bytes kept as ``os.fsdecode`` keeps them); ``-z`` spares any quoting.

A question git cannot answer is a CliError saying why (git missing, or git's own message).
"""

import os
import shutil
import subprocess
from pathlib import Path

from .errors import CliError, Exit

GIT = "git"
# The paths a commit adds, copies, deletes, modifies, renames or changes the type of.
STAGED = ("diff", "--cached", "--name-only", "-z", "--no-renames", "--diff-filter=ACDMRT")


def git(directory: Path, *args: str) -> str:
    """What ``git -C directory *args`` prints, or CliError with what git said."""
    command = shutil.which(GIT)
    if command is None:
        raise CliError(
            "git is not installed (or not on PATH)",
            exit_code=Exit.INVALID,
            hint="install git, e.g. apt-get install git",
        )
    run = subprocess.run([command, "-C", str(directory), *args], capture_output=True, check=False)
    if run.returncode != 0:
        said = os.fsdecode(run.stderr).strip() or f"exit status {run.returncode}"
        raise CliError(f"git {args[0]} failed in {directory}: {said}", exit_code=Exit.INVALID)
    return os.fsdecode(run.stdout)


def top_level(directory: Path) -> Path | None:
    """The top level of the working tree ``directory`` is in (symlinks resolved); None if
    it is in none (not a repository, or a bare one)."""
    try:
        found = git(directory, "rev-parse", "--show-toplevel").strip()
    except CliError:
        if shutil.which(GIT) is None:
            raise
        return None
    return Path(found).resolve() if found else None


def working_trees(top: Path) -> list[Path]:
    """``top`` and, if it is a linked worktree, the repository's main working tree."""
    common = Path(top, git(top, "rev-parse", "--git-common-dir").strip()).resolve()
    trees = [top]
    if common.name == ".git" and common.parent != top:
        trees.append(common.parent)
    return trees


def hooks_directory(directory: Path) -> Path:
    """Where git looks for the hooks of the repository ``directory`` is in."""
    return Path(directory, git(directory, "rev-parse", "--git-path", "hooks").strip()).resolve()


def staged_paths(top: Path) -> list[str]:
    """The repository-relative paths the commit being made changes (see the module)."""
    changed = _paths(git(top, *STAGED))
    for parent in merge_heads(top):
        theirs = set(_paths(git(top, *STAGED, parent, "--")))
        changed = [path for path in changed if path in theirs]
    return changed


def merge_heads(top: Path) -> list[str]:
    """The other parents of the merge being committed (``MERGE_HEAD``: one a line, several
    for an octopus); none when no merge is under way."""
    found = Path(top, git(top, "rev-parse", "--git-path", "MERGE_HEAD").strip())
    try:
        return found.read_text().split()
    except FileNotFoundError:
        return []


def _paths(listed: str) -> list[str]:
    return [path for path in listed.split("\0") if path]
