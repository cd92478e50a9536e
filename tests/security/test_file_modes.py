"""Maestro's files are their owner's only (maestro_mcp/private_files.py): the data
directory 0700, the SQLite database and its -wal and -shm files 0600, an export 0600.

Each is made so from the start, under the most open umask (0: without explicit modes,
files would be made 0644 by SQLite, 0666 and 0777 by Python), and each is tightened,
with a warning naming it, when it is found looser. A directory named by ``--db`` is the
user's and stays as it is. SQLite only: a PostgreSQL database has no files of Maestro's.
"""

import logging
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from maestro_mcp import private_files
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.paths import DB_FILENAME
from maestro_mcp.settings import Settings
from tests.support.servers import ServerProcess, maestro_command, start_server_process
from tests.support.waiting import WAIT

SIDECARS = ("-wal", "-shm")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def database_files(directory: Path) -> list[Path]:
    """The database in ``directory`` and the files SQLite keeps beside it."""
    database = directory / DB_FILENAME
    return [database, *(Path(f"{database}{suffix}") for suffix in SIDECARS)]


def modes(directory: Path) -> dict[str, int]:
    """The mode of ``directory`` and of each of its database files, by name."""
    return {path.name: mode(path) for path in [directory, *database_files(directory)]}


def private(directory: Path) -> dict[str, int]:
    return {
        directory.name: 0o700,
        **{path.name: 0o600 for path in database_files(directory)},
    }


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """Files and directories made without an explicit mode get every permission (also in
    the processes the test starts, which inherit the umask)."""
    before = os.umask(0)
    yield
    os.umask(before)


def maestro(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        maestro_command(*args), capture_output=True, text=True, timeout=WAIT * 6, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


@contextmanager
def serving(data_dir: Path) -> Iterator[ServerProcess]:
    """``maestro serve --data-dir data_dir``, with a write made: its database, WAL and
    shared-memory files are open while the block runs."""
    server = start_server_process(None, "--data-dir", str(data_dir))
    try:
        with server.client() as http:
            assert http.post("/api/projects", json={"name": "p"}).status_code == 201
        yield server
    finally:
        assert server.terminate() == 0


def new_database(path: Path) -> None:
    store = open_store(path)
    store.migrate()
    store.close()


@contextmanager
def loose_database(directory: Path) -> Iterator[None]:
    """A Maestro database in ``directory`` as an older Maestro left it: the directory
    0755, the database 0644, and (while the block runs, another process of that Maestro
    holding it open) its -wal and -shm files 0644 too."""
    new_database(directory / DB_FILENAME)
    directory.chmod(0o755)
    (directory / DB_FILENAME).chmod(0o644)
    with closing(sqlite3.connect(directory / DB_FILENAME)) as other:
        other.execute("PRAGMA journal_mode=WAL")
        other.execute("SELECT count(*) FROM projects").fetchone()
        assert set(modes(directory).values()) == {0o755, 0o644}
        yield


def warned(log: str, directory: Path) -> list[str]:
    """The paths (of ``directory`` and its database files) the log says were tightened."""
    return [
        path.name
        for path in [directory, *database_files(directory)]
        if f"{path} had mode {mode_before(path):04o}" in log
    ]


def mode_before(path: Path) -> int:
    return 0o755 if path.is_dir() else 0o644


# --- maestro serve ----------------------------------------------------------------------


def test_serve_makes_a_new_data_directory_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "maestro"  # its parent is missing too
    with serving(data_dir):
        assert modes(data_dir) == private(data_dir)
        assert mode(data_dir.parent) == 0o700


def test_serve_tightens_what_it_finds_open_to_others_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "maestro"
    data_dir.mkdir()
    with loose_database(data_dir), serving(data_dir) as server:
        assert modes(data_dir) == private(data_dir)
    log = "".join(server.log)
    assert warned(log, data_dir) == list(private(data_dir))
    assert log.count("changed it to 0600") == 3
    assert "changed it to 0700" in log


# --- the core, as every process starts it ----------------------------------------------


@pytest.mark.anyio
async def test_the_core_makes_a_new_data_directory_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "maestro"
    async with Core(Settings(database=data_dir / DB_FILENAME, data_dir=data_dir)):
        assert modes(data_dir) == private(data_dir)


@pytest.mark.anyio
async def test_the_core_tightens_what_it_finds_open_to_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "maestro"
    data_dir.mkdir()
    with loose_database(data_dir):
        async with Core(Settings(database=data_dir / DB_FILENAME, data_dir=data_dir)):
            assert modes(data_dir) == private(data_dir)
    assert warned(caplog.text, data_dir) == list(private(data_dir))


@pytest.mark.anyio
async def test_a_database_named_by_path_is_private_in_a_directory_left_as_it_is(
    tmp_path: Path,
) -> None:
    """``--db`` names a file in a directory of the user's (a project, /tmp): only the
    database's files are Maestro's."""
    project = tmp_path / "project"
    project.mkdir(mode=0o755)
    async with Core(Settings(database=project / DB_FILENAME)):
        assert modes(project) == {**private(project), project.name: 0o755}


@pytest.mark.anyio
async def test_a_file_this_user_cannot_change_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "maestro"
    data_dir.mkdir()

    def not_the_owner(path: Path, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    with loose_database(data_dir):
        monkeypatch.setattr(os, "chmod", not_the_owner)
        with caplog.at_level(logging.WARNING):
            async with Core(Settings(database=data_dir / DB_FILENAME, data_dir=data_dir)):
                assert set(modes(data_dir).values()) == {0o755, 0o644}
    assert caplog.text.count("this user cannot change that (Operation not permitted)") == 4


def test_where_modes_do_not_apply_nothing_is_checked_or_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows files are protected by ACLs, which modes do not describe."""
    monkeypatch.setattr(private_files, "MODES_APPLY", False)
    data_dir = tmp_path / "maestro"
    data_dir.mkdir()
    with loose_database(data_dir):
        private_files.private_directory(data_dir, ours=True)
        for path in database_files(data_dir):
            private_files.private_file(path)
            assert private_files.is_private(path)
        assert set(modes(data_dir).values()) == {0o755, 0o644}


# --- export and import -------------------------------------------------------------------


def test_an_export_is_private(tmp_path: Path) -> None:
    """It holds the claim tokens of live claims."""
    new_database(tmp_path / DB_FILENAME)
    maestro("export", "--db", str(tmp_path / DB_FILENAME), str(tmp_path / "backup.jsonl"))
    assert mode(tmp_path / "backup.jsonl") == 0o600


@pytest.mark.parametrize("found", ["missing", "open to others"])
def test_import_makes_its_data_directory_private(tmp_path: Path, found: str) -> None:
    new_database(tmp_path / "source" / DB_FILENAME)
    export = tmp_path / "backup.jsonl"
    maestro("export", "--data-dir", str(tmp_path / "source"), str(export))
    data_dir = tmp_path / "maestro"
    if found == "open to others":
        data_dir.mkdir(mode=0o755)
    maestro("import", "--data-dir", str(data_dir), str(export))
    assert mode(data_dir) == 0o700
    assert mode(data_dir / DB_FILENAME) == 0o600


def test_a_shared_directory_is_never_the_data_directory(tmp_path: Path) -> None:
    """/tmp as the data directory would be made 1700 (as root: the machine's /tmp):
    refused, with the reason, and left as it is."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    result = subprocess.run(
        maestro_command("serve", "--port", "0", "--data-dir", str(shared)),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 1
    assert "is a shared directory (mode 1777)" in result.stderr
    assert "Traceback" not in result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


@pytest.mark.anyio
async def test_a_data_directory_holding_other_files_is_left_as_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    (home / "notes.txt").write_text("the user's")
    with caplog.at_level(logging.WARNING):
        async with Core(Settings(database=home / DB_FILENAME, data_dir=home)):
            pass
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert "holds more than Maestro's files (notes.txt…): left as it is" in caplog.text
    assert stat.S_IMODE((home / DB_FILENAME).stat().st_mode) == 0o600


def test_a_symbolic_link_beside_the_database_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("not maestro's")
    target.chmod(0o644)
    database = tmp_path / "maestro.db"
    with closing(open_store(database)) as store:
        store.migrate()
    Path(f"{database}-wal").unlink(missing_ok=True)
    Path(f"{database}-wal").symlink_to(target)
    with pytest.raises(private_files.NotOurs, match="is a symbolic link"):
        open_store(database).migrate()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_database_another_user_owns_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its owner could read every prompt, or add a token: Maestro will not use it."""
    database = tmp_path / "maestro.db"
    with closing(open_store(database)) as store:
        store.migrate()
    monkeypatch.setattr(os, "geteuid", lambda: database.stat().st_uid + 1)
    with pytest.raises(private_files.NotOurs, match="belongs to another user"):
        open_store(database).migrate()
