"""Starting instances: together on an empty database they migrate it once and all come
up; on a schema newer than they understand, or a database they cannot reach, they refuse
with one clear line and exit status 1 (the URL shown with its password masked)."""

import subprocess
from urllib.parse import urlsplit

import psycopg
import pytest

from maestro_mcp.core.storage.postgres.schema import SCHEMA_VERSION
from tests.support.instances import FollowingFeed, Instances, new_project
from tests.support.servers import free_port, maestro_command
from tests.support.stores import make_schema_newer
from tests.support.waiting import WAIT

pytestmark = pytest.mark.only_store("postgresql")


def refused(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``maestro *args``, which must exit by itself (bounded by a timeout)."""
    return subprocess.run(
        maestro_command(*args),
        capture_output=True,
        text=True,
        timeout=WAIT * 3,
        stdin=subprocess.DEVNULL,
    )


def test_instances_started_together_on_an_empty_database_all_come_up(
    empty_database: str, instances: Instances
) -> None:
    """Three instances started at the same moment on a database without Maestro's schema:
    each comes up (a migration applied twice would fail one of them), the schema is at
    this version, and they share one log: one epoch, and a write on one reaches the
    others."""
    started = instances.start(empty_database, 3)
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT version FROM maestro_schema").fetchall() == [(SCHEMA_VERSION,)]
    feeds = [FollowingFeed("ws", [i.ws_url], since=0) for i in started]
    assert len({feed.epoch for feed in feeds}) == 1
    _, seq = new_project(started[0].base_url)
    for feed in feeds:
        feed.follow_until(seq)
        assert [e["event"] for e in feed.events] == ["project:created"]
        feed.close()


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_an_instance_refuses_a_schema_newer_than_it_understands(
    database: str, command: str
) -> None:
    make_schema_newer(database)
    args = ["--port", "0"] if command == "serve" else []
    result = refused(command, *args, "--db", database)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line == (
        f"maestro: {database} has schema version {SCHEMA_VERSION + 1}, which Maestro "
        f"{SCHEMA_VERSION} cannot use; upgrade Maestro"
    )


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_an_unreachable_database_at_start_is_one_line_naming_it(command: str) -> None:
    """Nothing listens at the URL's port: one line naming the URL with its password
    masked, and exit status 1, before anything listens (serve) or reads stdin (mcp)."""
    url = f"postgresql://maestro:s3cret@127.0.0.1:{free_port()}/maestro"
    args = ["--port", "0"] if command == "serve" else []
    result = refused(command, *args, "--db", url)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    port = urlsplit(url).port
    assert line.startswith(
        f"maestro: cannot reach the database at postgresql://maestro:***@127.0.0.1:{port}/maestro:"
    ), line
    assert "s3cret" not in result.stderr + result.stdout
