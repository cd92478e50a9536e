"""agent_configs/: every file parses, matches its generator, and the server it names answers."""

import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from maestro_mcp.agent_configs import DEFAULT_URL, HOSTS, write_examples
from tests.support.mcp import TOOL_NAMES
from tests.support.servers import LiveServer, maestro_command
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
