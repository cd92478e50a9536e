"""agent_configs/: every file parses, matches its generator, and the server it names answers."""

import json
import os
import shlex
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from http_api import Settings
from maestro_mcp.agent_configs import DEFAULT_URL, HOSTS, write_examples
from tests.support.mcp import TOOL_NAMES
from tests.support.servers import LiveServer, live_server, maestro_command
from tests.support.waiting import WAIT

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent / "agent_configs"
FILES = sorted(p for p in ROOT.rglob("*") if p.is_file() and p.name != "README.md")


def parse(path: Path) -> dict[str, Any]:
    """The server entry a host would read from this file: {command, args} or {url}."""
    text = path.read_text()
    if path.suffix == ".sh":
        words = shlex.split(text)
        assert words[:3] == ["claude", "mcp", "add"]
        if "--" in words:
            command = words[words.index("--") + 1 :]
            return {"command": command[0], "args": command[1:]}
        return {"url": words[-1]}
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    servers: dict[str, Any] = (
        data.get("mcpServers") or data.get("servers") or data.get("mcp_servers") or {}
    )
    entry: dict[str, Any] = servers["maestro"]
    if entry.get("command") == "npx":  # Claude Desktop's bridge to an HTTP server
        assert entry["args"][:2] == ["-y", "mcp-remote"]
        return {"url": entry["args"][-1]}
    if "command" in entry:
        return {"command": entry["command"], "args": entry["args"]}
    return {"url": entry.get("url") or entry["httpUrl"]}


def test_there_is_a_stdio_and_an_http_config_for_every_host() -> None:
    for host in HOSTS:
        kinds = {"url" in parse(p) for p in FILES if p.parent.name == host}
        assert kinds == {True, False}, host


def test_files_match_their_generator(tmp_path: Path) -> None:
    write_examples(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated == [p.relative_to(ROOT) for p in FILES]
    for relative in generated:
        assert (ROOT / relative).read_text() == (tmp_path / relative).read_text(), (
            f"{relative} is stale: run python -m maestro_mcp.agent_configs agent_configs"
        )


@pytest.mark.parametrize(
    "path", [p for p in FILES if "url" not in parse(p)], ids=lambda p: str(p.relative_to(ROOT))
)
async def test_stdio_config_starts_a_server_that_lists_tools(path: Path, tmp_path: Path) -> None:
    entry = parse(path)
    assert entry["command"] == "maestro"
    executable = Path(sys.executable).parent / "maestro"  # `maestro` as installed on PATH
    params = StdioServerParameters(
        command=str(executable),
        args=entry["args"],
        env={**os.environ, "MAESTRO_DATA_DIR": str(tmp_path)},
    )
    async with Client(params) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOL_NAMES


@pytest.mark.parametrize(
    "path", [p for p in FILES if "url" in parse(p)], ids=lambda p: str(p.relative_to(ROOT))
)
async def test_http_config_names_a_server_that_lists_tools(path: Path, server: LiveServer) -> None:
    url = parse(path)["url"]
    assert url == DEFAULT_URL
    async with Client(url.replace("http://127.0.0.1:3000", server.base_url)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOL_NAMES


def test_agent_config_command_fills_in_absolute_paths(tmp_path: Path) -> None:
    result = subprocess.run(
        maestro_command(
            "agent-config", "codex", "--project", "demo", "--db", str(tmp_path / "m.db")
        ),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    entry = tomllib.loads(result.stdout)["mcp_servers"]["maestro"]
    assert Path(entry["command"]).is_absolute()
    assert entry["args"] == ["mcp", "--db", str(tmp_path / "m.db")]
    assert entry["env"] == {"MAESTRO_PROJECT": "demo"}
    assert "~/.codex/config.toml" in result.stderr


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_agent_config_output_parses_for_every_host(host: str, tmp_path: Path) -> None:
    for extra in ([], ["--http"]):
        result = subprocess.run(
            maestro_command("agent-config", host, *extra),
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=True,
        )
        target = tmp_path / ("out.toml" if host == "codex" else "out.json")
        target.write_text(result.stdout)
        assert parse(target)


def token_config(host: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        maestro_command("agent-config", host, "--http", "--token-env", "TEAM_TOKEN", *extra),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )


def _http_entry(host: str, output: str) -> dict[str, Any]:
    parsed = tomllib.loads(output) if host == "codex" else json.loads(output)
    servers = parsed.get("mcpServers") or parsed.get("servers") or parsed["mcp_servers"]
    entry: dict[str, Any] = servers["maestro"]
    return entry


# How each host writes "the value of TEAM_TOKEN" where it sends a header.
TOKEN_REFERENCE = {
    "claude-code": "${TEAM_TOKEN}",
    "cursor": "${env:TEAM_TOKEN}",
    "vscode": "${env:TEAM_TOKEN}",
    "gemini-cli": "${TEAM_TOKEN}",
}


@pytest.mark.parametrize("host", sorted(TOKEN_REFERENCE))
async def test_a_token_from_the_environment_reaches_a_server_that_needs_it(
    host: str, settings: Settings
) -> None:
    """The host's own syntax names the variable; expanded as the host expands it, the
    header it sends gets the agent in. The secret is never in the file."""
    output = token_config(host).stdout
    entry = _http_entry(host, output)
    reference = TOKEN_REFERENCE[host]
    assert entry["headers"] == {"Authorization": f"Bearer {reference}"}
    with live_server(replace(settings, token="team-s3cret")) as server:
        headers = {k: v.replace(reference, "team-s3cret") for k, v in entry["headers"].items()}
        url = (entry.get("url") or entry["httpUrl"]).replace(
            "http://127.0.0.1:3000", server.base_url
        )
        async with (
            httpx.AsyncClient(headers=headers, timeout=WAIT) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            assert {t.name for t in (await client.list_tools()).tools} == TOOL_NAMES
    assert "team-s3cret" not in output


def test_codex_and_claude_desktop_name_the_variable() -> None:
    codex = _http_entry("codex", token_config("codex").stdout)
    assert codex["bearer_token_env_var"] == "TEAM_TOKEN"
    desktop = _http_entry("claude-desktop", token_config("claude-desktop").stdout)
    assert desktop["args"][-2:] == ["--header", "Authorization:Bearer ${TEAM_TOKEN}"]
    claude_add = token_config("claude-code").stderr
    assert "--header 'Authorization: Bearer ${TEAM_TOKEN}'" in claude_add
    assert "set TEAM_TOKEN" in claude_add


def test_token_env_is_refused_for_stdio_and_for_a_bad_name() -> None:
    for args, said in (
        (["agent-config", "cursor", "--token-env", "X"], "--token-env is for --http"),
        (["agent-config", "cursor", "--http", "--token-env", "A B"], "variable name"),
    ):
        result = subprocess.run(
            maestro_command(*args), capture_output=True, text=True, timeout=WAIT
        )
        assert result.returncode == 2
        assert said in result.stderr
