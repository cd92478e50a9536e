"""A throwaway PostgreSQL cluster for the tests, started and removed by them.

The rules:

- Tests never touch a PostgreSQL they did not start: ``Cluster.start`` runs ``initdb`` and
  ``pg_ctl`` in a fresh temporary directory, on a free port on 127.0.0.1 and a Unix socket in
  that directory, and ``Cluster.destroy`` stops the server and removes the directory. The one
  exception is ``MAESTRO_TEST_PG_URL`` (see ``test_cluster_url``): set, it points the suite at
  an existing server instead, which the suite then only uses through databases it creates.
- The binaries are found on ``PATH`` or in the newest ``/usr/lib/postgresql/*/bin`` (Debian's
  layout); ``scripts/ensure-postgres`` installs them. ``initdb`` refuses to run as root, so as
  root every server command runs as the ``postgres`` OS user (through ``runuser``, else
  ``su``) and the cluster lives where that user can reach it.
- The cluster is tuned for tests, not for keeping data: ``fsync``, ``synchronous_commit`` and
  ``full_page_writes`` are off. Every role is trusted; the superuser is ``postgres``.
- Every subprocess is bounded by a timeout and nothing sleeps for a fixed time: ``pg_ctl -w``
  waits for the server, ``pg_terminate_backend(pid, timeout)`` for the backends it ends.
- Failures say why: a server that does not start raises ``ClusterError`` with the end of its
  log.

``test_cluster_url`` is named by the suite's conventions but is not a test: import the module
(``from tests.support import postgres``), not the function, into test modules, or pytest
collects it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql as pgsql

URL_ENV = "MAESTRO_TEST_PG_URL"
"""Environment variable naming an existing server to test against instead of a throwaway one."""

SUPERUSER = "postgres"
OS_USER = "postgres"
"""The OS user the server runs as when the tests run as root."""

HOST = "127.0.0.1"
INITDB_TIMEOUT = 120.0
SERVER_TIMEOUT = 60
"""Seconds ``pg_ctl`` waits for the server to start or stop (``pg_ctl -t``)."""
SUBPROCESS_SLACK = 15.0
"""Extra seconds a ``pg_ctl`` process gets over its own ``-t`` before it is killed."""
CONNECT_TIMEOUT = 10
STATEMENT_TIMEOUT_MS = 60_000
TERMINATE_TIMEOUT_MS = 10_000
LOG_TAIL_LINES = 40
START_ATTEMPTS = 3
"""How many free ports ``Cluster.start`` tries: another process may take the one it picked."""

SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
}
"""Server settings for speed in tests (besides the address, port and socket directory)."""

DURABLE: dict[str, str] = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
}
"""What the benchmark measures with: PostgreSQL's own defaults, every COMMIT on disk."""

_SUN_PATH_MAX = 107  # longest Unix socket path Linux takes (sun_path holds 108 bytes, NUL included)
_SOCKET_NAME_MAX = len("/run/.s.PGSQL.65535")
_TEMP_NAME_LEN = len("/maestro-pg-") + 8  # tempfile.mkdtemp's random part is 8 characters
_CONF_NAME = "maestro.conf"


class ClusterError(RuntimeError):
    """A server command failed; the message carries its output and the end of the server log."""


def test_cluster_url() -> str | None:
    """``MAESTRO_TEST_PG_URL`` if set and not empty: an existing server to run the suite against
    instead of a throwaway cluster. ``None`` otherwise."""
    return os.environ.get(URL_ENV) or None


def find_pg_bin(name: str) -> str | None:
    """The PostgreSQL program ``name`` (``initdb``, ``pg_ctl``, ``postgres``…): on ``PATH``,
    else in the newest ``/usr/lib/postgresql/*/bin``; ``None`` if neither has it."""
    found = shutil.which(name)
    if found is not None:
        return found
    for bin_dir in _debian_bin_dirs():
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _debian_bin_dirs() -> list[Path]:
    """``/usr/lib/postgresql/<version>/bin``, newest version first."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)


def _pg_program(name: str, initdb: str) -> str:
    """``name`` from the directory ``initdb`` really lives in (so that every program comes from
    the same version), else wherever ``find_pg_bin`` finds it."""
    beside = Path(os.path.realpath(initdb)).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = find_pg_bin(name)
    if found is None:
        raise ClusterError(f"found {initdb} but no {name} to go with it")
    return found


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _others_can_traverse(path: Path) -> bool:
    """Whether a user other than the owner can reach into ``path`` (every ancestor has o+x)."""
    resolved = path.resolve()
    return all(part.stat().st_mode & 0o001 for part in (resolved, *resolved.parents))


def _find_runuser() -> str | None:
    return shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")


def _subprocess_env() -> dict[str, str]:
    """This process's environment without ``PG*`` variables (which would steer the server
    programs elsewhere) and with the C locale (so that messages are English)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


@dataclass(frozen=True)
class _RunAs:
    """Who runs the server programs: this process's user, or (as root) the ``postgres`` user."""

    user: pwd.struct_passwd | None

    @classmethod
    def for_this_process(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls(None)
        try:
            return cls(pwd.getpwnam(OS_USER))
        except KeyError:
            raise ClusterError(
                f"running as root, and initdb refuses to; there is no {OS_USER!r} OS user "
                "to run it as (create one, or run the tests as another user)"
            ) from None

    def command(self, args: Sequence[str]) -> list[str]:
        if self.user is None:
            return list(args)
        runuser = _find_runuser()
        if runuser is not None:
            return [runuser, "-u", self.user.pw_name, "--", *args]
        return ["su", self.user.pw_name, "-s", "/bin/sh", "-c", shlex.join(args)]

    def own(self, path: Path) -> None:
        """Give ``path`` to the user the server runs as."""
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)


def _cluster_root(base_dir: Path, run_as: _RunAs) -> Path:
    """A fresh directory for the cluster: under ``base_dir`` if the server's user can reach it
    and the socket path stays short enough, else under the system's temporary directory."""
    parent: Path = base_dir
    too_long = len(str(base_dir.resolve())) + _TEMP_NAME_LEN + _SOCKET_NAME_MAX > _SUN_PATH_MAX
    if too_long or (run_as.user is not None and not _others_can_traverse(base_dir)):
        parent = Path(tempfile.gettempdir())
        if run_as.user is not None and not _others_can_traverse(parent):
            raise ClusterError(
                f"the {OS_USER!r} user cannot reach {parent} (every directory on the path "
                "needs o+x); point TMPDIR somewhere it can"
            )
    root = Path(tempfile.mkdtemp(prefix="maestro-pg-", dir=parent))
    root.chmod(0o755)
    return root


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no server log: {error})"
    return "\n".join(text.splitlines()[-lines:])


class Cluster:
    """A throwaway PostgreSQL cluster: its own data directory, port and socket directory, all
    in one temporary directory that ``destroy`` removes. Start one with ``Cluster.start``."""

    def __init__(
        self,
        root: Path,
        port: int,
        run_as: _RunAs,
        initdb: str,
        pg_ctl: str,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self._overrides = dict(overrides or {})
        """The temporary directory holding everything below."""
        self.data_dir = root / "data"
        self.socket_dir = root / "run"
        """Where the server's Unix socket is (``unix_socket_directories``)."""
        self.log_file = self.socket_dir / "server.log"
        self._port = port
        self._run_as = run_as
        self._initdb = initdb
        self._pg_ctl = pg_ctl
        self._destroyed = False

    @classmethod
    def start(cls, base_dir: Path, overrides: Mapping[str, str] | None = None) -> Cluster:
        """Create a cluster in a new directory under ``base_dir`` (or under the system's
        temporary directory when the server's user could not reach ``base_dir`` or its socket's
        path would be too long for Unix sockets), start it on a free port
        and return it once it accepts connections. ``overrides`` replace settings (e.g.
        ``DURABLE``). Raises ``ClusterError`` if the programs are missing or the server does
        not start."""
        initdb = find_pg_bin("initdb")
        if initdb is None:
            raise ClusterError(
                "initdb not found on PATH or in /usr/lib/postgresql/*/bin: run "
                f"scripts/ensure-postgres, or set {URL_ENV} to an existing server"
            )
        pg_ctl = _pg_program("pg_ctl", initdb)
        run_as = _RunAs.for_this_process()
        root = _cluster_root(base_dir, run_as)
        cluster = cls(root, _free_port(), run_as, initdb, pg_ctl, overrides)
        atexit.register(cluster.destroy)  # a test run that dies early leaves no server behind
        try:
            cluster._init()
            cluster._start_on_a_free_port()
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    # -- where it is

    @property
    def port(self) -> int:
        """The TCP port the server listens on, on 127.0.0.1 (also the socket's suffix)."""
        return self._port

    @property
    def host(self) -> str:
        return HOST

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL for database ``dbname`` as the superuser, over TCP."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self._port}/{quote(dbname, safe='')}"

    # -- SQL

    def execute(
        self,
        sql: str | pgsql.Composed,
        dbname: str = "postgres",
        params: Sequence[Any] | Mapping[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Run one administrative statement on ``dbname`` in autocommit mode (so that
        ``CREATE DATABASE`` and the like work) on a connection of its own; return its rows
        (none for a statement that returns none)."""
        with (
            psycopg.connect(
                self.url(dbname),
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="maestro-test-admin",
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            ) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []

    def create_database(self, name: str, template: str | None = None) -> None:
        """Create database ``name``, as a copy of ``template`` if given. The template must have
        no other connections (PostgreSQL waits up to 5 s for them to go, then fails)."""
        statement = pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name))
        if template is not None:
            statement = pgsql.SQL("{} TEMPLATE {}").format(statement, pgsql.Identifier(template))
        self.execute(statement)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, ending any connections to it."""
        self.execute(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
        )

    def terminate(self, application_name: str | None = None) -> int:
        """End the client connections whose ``application_name`` is the one given (every client
        connection but this call's own if ``None``) and return how many there were. On
        PostgreSQL 14 and later this waits for those backends to be gone."""
        rows = self.execute("SELECT current_setting('server_version_num')::int >= 140000")
        waits = bool(rows[0][0])
        end = (
            f"pg_terminate_backend(pid, {TERMINATE_TIMEOUT_MS})"
            if waits
            else "pg_terminate_backend(pid)"
        )
        rows = self.execute(
            f"SELECT count(*) FILTER (WHERE {end}) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            " AND (%(name)s::text IS NULL OR application_name = %(name)s::text)",
            params={"name": application_name},
        )
        return int(rows[0][0])

    # -- the server

    def restart(self) -> None:
        """Stop the server (fast: ends connections, rolls back open transactions) and start it
        again on the same port; return once it accepts connections."""
        self._pg_ctl_run("restart", "-m", "fast", "-l", str(self.log_file))

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``mode``: ``smart``, ``fast`` or ``immediate``) and wait until it
        has; ``start_again`` brings it back on the same port."""
        self._pg_ctl_run("stop", "-m", mode)

    def start_again(self) -> None:
        """Start a stopped server again, on the same port; return once it accepts
        connections."""
        self._pg_ctl_run("start", "-l", str(self.log_file))

    @property
    def running(self) -> bool:
        """Whether the server's pid file is there (it is from start until stop)."""
        return (self.data_dir / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop the server at once (``-m immediate``) and remove the temporary directory. Safe
        to call twice, and on a cluster that never started."""
        if self._destroyed:
            return
        self._destroyed = True
        atexit.unregister(self.destroy)
        if self.running:
            try:
                self._pg_ctl_run("stop", "-m", "immediate")
            except (ClusterError, subprocess.TimeoutExpired, OSError):
                self._signal_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- inside

    def _run(self, args: Sequence[str], timeout: float, what: str) -> str:
        """Run a server program as the server's user, killing it (and its children) after
        ``timeout`` seconds; return its output, or raise ``ClusterError`` if it failed."""
        command = self._run_as.command(args)
        with subprocess.Popen(
            command,
            cwd=self.root,
            env=_subprocess_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so that a timeout can kill runuser and what it ran
        ) as process:
            try:
                output, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise ClusterError(
                    f"{what} did not finish within {timeout:.0f} s: {shlex.join(command)}\n"
                    f"--- end of {self.log_file} ---\n{_tail(self.log_file)}"
                ) from None
        if process.returncode != 0:
            raise ClusterError(
                f"{what} failed (exit status {process.returncode}): {shlex.join(command)}\n"
                f"{output.strip()}\n--- end of {self.log_file} ---\n{_tail(self.log_file)}"
            )
        return output

    def _pg_ctl_run(self, action: str, *options: str) -> None:
        self._run(
            [
                self._pg_ctl,
                action,
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                str(SERVER_TIMEOUT),
                *options,
            ],
            timeout=SERVER_TIMEOUT + SUBPROCESS_SLACK,
            what=f"pg_ctl {action}",
        )

    def _init(self) -> None:
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(mode=0o700 if directory == self.data_dir else 0o755)
            self._run_as.own(directory)
        self._run(
            [
                self._initdb,
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=INITDB_TIMEOUT,
            what="initdb",
        )  # fmt: skip
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# Added by tests/support/postgres.py\ninclude '{_CONF_NAME}'\n")

    def _write_settings(self) -> None:
        settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self._port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            **SETTINGS,
            **self._overrides,
        }
        path = self.data_dir / _CONF_NAME
        path.write_text("".join(f"{name} = {value}\n" for name, value in settings.items()))
        self._run_as.own(path)

    def _start_on_a_free_port(self) -> None:
        """Start the server; should another process have taken the port in between, try
        another one."""
        for attempt in range(1, START_ATTEMPTS + 1):
            self._write_settings()
            try:
                self.start_again()
                return
            except ClusterError as error:
                if attempt == START_ATTEMPTS or "Address already in use" not in str(error):
                    raise
                self._port = _free_port()

    def _signal_postmaster(self) -> None:
        """Last resort when ``pg_ctl stop`` failed: SIGQUIT (immediate shutdown) to the
        postmaster named in its pid file."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)

    def __repr__(self) -> str:
        state = "destroyed" if self._destroyed else "running" if self.running else "stopped"
        return f"<Cluster {self.url()} {state} in {self.root}>"
