"""Files that only their owner may read: Maestro's data directory (0700), its SQLite
database and the ``-wal`` and ``-shm`` files beside it (0600), and every file Maestro
writes that holds a secret (an export holds claim tokens) (0600).

The rules:
- Private from the start: a directory (and each missing parent) is made by
  ``os.mkdir(path, 0o700)``, a file by ``os.open(path, O_CREAT | O_EXCL, 0o600)`` (or
  ``mkstemp``, which does the same). The mode is given when the file is created, so
  there is no moment at which another user could open it; a umask only ever takes bits
  away. SQLite makes the ``-wal`` and ``-shm`` files itself, with the database file's
  mode.
- Found looser, tightened: Maestro owns these files, so one that other users may read or
  write (an older Maestro made it, a copy or an archive did) loses its group and other
  bits, and a warning names it with its old and new mode.
- Never used: one another user owns (they could read or change everything in it), and
  a symbolic link where a file is expected (its target could be anything: a chmod would
  follow it). Both are refused (``NotOurs``), with the reason.
- A directory is Maestro's when it made it, or when it was named as the data directory
  (``--data-dir``, ``MAESTRO_DATA_DIR``, or the per-user default) and holds only
  Maestro's files. A shared directory (world-writable or sticky: ``/tmp``) cannot be the
  data directory; one that holds other files (``--data-dir ~``) is left as it is, with
  a warning. The directory of ``--db ./maestro.db`` is the user's (a project, ``/tmp``):
  it is left as it is. The database files are private wherever they are.
- A secret is written through ``PrivateFile``: under a temporary name in the same
  directory, then renamed over the path once complete, so a reader never sees half a
  file and a failed write leaves none.
- Windows: files are protected by ACLs there (a user's profile is private by default),
  which POSIX modes do not describe: nothing is checked or changed (``MODES_APPLY``).
"""

import contextlib
import logging
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# The bits that let other users in: group and other, read, write and execute.
SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO
# POSIX modes protect files here; on Windows ACLs do, and modes are not checked.
MODES_APPLY = sys.platform != "win32"


def is_private(path: Path) -> bool:
    """No one but its owner may use ``path`` (always true where modes do not apply)."""
    return not MODES_APPLY or not path.stat().st_mode & SHARED_BITS


class NotOurs(PermissionError):
    """A file or directory Maestro was to keep private that it must not use: a symbolic
    link (its target could be anything), or one another user owns (who could read, or
    change, everything in it)."""


def _check_ours(path: Path, found: os.stat_result) -> None:
    if stat.S_ISLNK(found.st_mode):
        raise NotOurs(f"{path} is a symbolic link: Maestro keeps its files only as files")
    if found.st_uid != os.geteuid():
        raise NotOurs(
            f"{path} belongs to another user (uid {found.st_uid}), who could read or "
            "change it: Maestro will not use it"
        )


def tighten(path: Path) -> None:
    """Take the group and other bits off ``path``'s mode, with a warning saying so; a
    path that is private already is left alone. ``NotOurs`` for a symbolic link, or a
    path another user owns; nothing (``FileNotFoundError``) if there is none."""
    if not MODES_APPLY:
        return
    found = path.lstat()
    _check_ours(path, found)
    mode = stat.S_IMODE(found.st_mode)
    if not mode & SHARED_BITS:
        return
    private = mode & ~SHARED_BITS
    try:
        os.chmod(path, private)
    except PermissionError as exc:
        log.warning(
            "%s has mode %04o: other users may use it, and this user cannot change that (%s)",
            path,
            mode,
            exc.strerror,
        )
        return
    log.warning(
        "%s had mode %04o, open to other users: changed it to %04o (only its owner may use it)",
        path,
        mode,
        private,
    )


def private_directory(path: Path, *, ours: bool) -> None:
    """Make directory ``path``, and each of its missing parents, with mode 0700; if it
    exists and is ``ours`` (the data directory), tighten it."""
    missing = []
    while not path.is_dir() and path.parent != path:
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        # One made by another process meanwhile will do (a file there fails the next mkdir).
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, PRIVATE_DIR_MODE)
    if not missing and ours:
        _keep_data_directory(path)


# What the data directory holds when it holds only Maestro's files.
_OURS_PREFIX = "maestro.db"


def _keep_data_directory(path: Path) -> None:
    """The data directory was there already: tighten it if it holds only Maestro's files.
    A shared one (world-writable or sticky: ``/tmp``) cannot be one; one holding other
    files (``--data-dir ~``) is the user's to keep: a warning, and the database files in
    it are private all the same."""
    if not MODES_APPLY:
        return
    found = path.lstat()
    mode = stat.S_IMODE(found.st_mode)
    if mode & (stat.S_ISVTX | stat.S_IWOTH):
        raise NotOurs(
            f"{path} is a shared directory (mode {mode:04o}): name a directory of "
            "Maestro's own as the data directory (--data-dir)"
        )
    _check_ours(path, found)
    others = [p.name for p in path.iterdir() if not p.name.startswith(_OURS_PREFIX)]
    if others and mode & SHARED_BITS:
        log.warning(
            "%s has mode %04o and holds more than Maestro's files (%s…): left as it is; "
            "the database files in it are private all the same",
            path,
            mode,
            others[0],
        )
        return
    tighten(path)


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it is missing, else tighten it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        tighten(path)


class PrivateFile:
    """A text file holding secrets, written whole or not at all: the text goes to a new
    file of mode 0600 under a temporary name beside ``path``, which ``commit`` renames
    over ``path`` (whatever was there, and its mode, is replaced) and ``discard`` deletes.
    Errors are the ``OSError``s of the calls."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # mkstemp creates its file with O_EXCL and mode 0600, whatever the umask.
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        self.temporary: Path | None = Path(name)
        self.stream: IO[str] = open(fd, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def write(self, text: str) -> int:
        return self.stream.write(text)

    def commit(self) -> None:
        """Close the file and put it at ``path``."""
        if self.temporary is None:
            return
        self.stream.close()
        os.replace(self.temporary, self.path)
        self.temporary = None

    def discard(self) -> None:
        """Close and delete the unfinished file (nothing appears at ``path``)."""
        if self.temporary is None:
            return
        self.stream.close()
        self.temporary.unlink(missing_ok=True)
        self.temporary = None
