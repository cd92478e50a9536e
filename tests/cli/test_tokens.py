"""``maestro token create|list|revoke`` against a live server, and the other commands
(``watch`` included) acting with the tokens it makes."""

import os
import stat
from pathlib import Path

import httpx2 as httpx

from maestro_mcp.cli.watch import feed_url
from maestro_mcp.protocol import AUTHORIZATION_HEADER, bearer
from tests.cli.test_watch import Watcher, change
from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer


def test_create_list_revoke(run: Run, tmp_path: Path) -> None:
    made = run("token", "create", "lead", "--scope", "admin")
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("mst_")
    assert "not shown again" in made.stderr
    admin = {"MAESTRO_TOKEN": secret}

    # The server now wants a token: without one the CLI says so.
    denied = run("project", "list", ok=False)
    assert denied.exit_code == 7
    assert "token" in denied.stderr

    saved = tmp_path / "bot.token"
    bot = as_json(
        run("token", "create", "bot", "--scope", "write", "--save", str(saved), "--json", env=admin)
    )
    assert saved.read_text() == bot["secret"] + "\n"
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert {k: bot[k] for k in ("name", "scope", "createdBy")} == {
        "name": "bot",
        "scope": "write",
        "createdBy": "lead/cli",  # the actor: the token's name, and the CLI naming itself
    }

    listed = run("token", "list", env=admin).stdout
    assert "bot" in listed
    assert "write" in listed
    assert "lead" in listed
    assert secret not in listed
    assert bot["secret"] not in listed

    # A write token cannot manage tokens.
    refused = run("token", "list", env={"MAESTRO_TOKEN": bot["secret"]}, ok=False)
    assert refused.exit_code == 7
    assert "scope write" in refused.stderr

    run("token", "revoke", "bot", env=admin)
    gone = run("project", "list", env={"MAESTRO_TOKEN": bot["secret"]}, ok=False)
    assert gone.exit_code == 7
    assert [t["name"] for t in as_json(run("token", "list", "--json", env=admin))] == ["lead"]


def test_save_never_overwrites_and_says_so(run: Run, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    result = run("token", "create", "x", "--scope", "read", "--save", str(taken), ok=False)
    assert result.exit_code == 4
    assert "exists already" in result.stderr
    assert taken.read_text() == "keep me"
    # Refused before anything was made: the name is still free, and the server open.
    assert run("token", "list", "--json").stdout.strip() == "[]"


def test_a_name_taken_or_unknown(run: Run) -> None:
    secret = run("token", "create", "lead", "--scope", "admin").stdout.strip().splitlines()[-1]
    admin = {"MAESTRO_TOKEN": secret}
    again = run("token", "create", "lead", "--scope", "read", env=admin, ok=False)
    assert again.exit_code == 5
    assert "exists already" in again.stderr
    missing = run("token", "revoke", "nobody", env=admin, ok=False)
    assert missing.exit_code == 3


def test_watch_sends_its_token_in_a_header_and_shows_who_did_what(
    run: Run, server: LiveServer
) -> None:
    secret = run("token", "create", "lead", "--scope", "admin").stdout.strip().splitlines()[-1]
    watcher = Watcher(server, "--token", secret)  # the URL it opens carries no token
    watcher.ready()
    change(Authorized(server, secret), 1)
    [line] = watcher.take(1)
    assert "project:created" in line
    assert line.rstrip().endswith("· lead")
    watcher.kill()


class Authorized:
    """A server whose clients send ``token``: what ``change`` needs."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.base_url = server.base_url
        self._server = server
        self._token = token

    def client(self) -> httpx.Client:
        http = self._server.client()
        http.headers[AUTHORIZATION_HEADER] = bearer(self._token)
        return http


def test_the_feed_url_never_carries_the_token() -> None:
    assert feed_url("http://127.0.0.1:3000", 5, "proj_1", "e1") == (
        "ws://127.0.0.1:3000/ws?since=5&projectId=proj_1&epoch=e1"
    )
