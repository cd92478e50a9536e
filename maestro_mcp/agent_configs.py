"""MCP client configurations for the major agent hosts, stdio and HTTP.

One source for both the example files in ``agent_configs/`` (generic: ``maestro``
on PATH, the default URL) and ``maestro agent-config`` (absolute paths filled in).
A test keeps the two in step.
"""

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from .protocol import AUTHORIZATION_HEADER, bearer

SERVER_NAME = "maestro"
DEFAULT_URL = "http://127.0.0.1:3000/mcp"


class Transport(StrEnum):
    STDIO = "stdio"
    HTTP = "http"


@dataclass(frozen=True)
class Launch:
    """How a host reaches Maestro: a command to spawn (stdio) or a URL (HTTP)."""

    command: str = "maestro"
    args: tuple[str, ...] = ("mcp",)
    env: dict[str, str] = field(default_factory=dict)
    url: str = DEFAULT_URL
    # HTTP: the environment variable holding the bearer token. The host reads it when it
    # connects (each host's own syntax below): the file never holds the secret.
    token_env: str | None = None


@dataclass(frozen=True)
class Snippet:
    filename: str  # the example file under agent_configs/<host>/
    where: str  # where the host reads it
    text: str


def _json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def _stdio_entry(launch: Launch, **extra: object) -> dict[str, object]:
    entry: dict[str, object] = {**extra, "command": launch.command, "args": list(launch.args)}
    if launch.env:
        entry["env"] = launch.env
    return entry


def _bearer_header(value: str) -> dict[str, str]:
    return {AUTHORIZATION_HEADER: bearer(value)}


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def claude_code(t: Transport, launch: Launch) -> list[Snippet]:
    if t is Transport.STDIO:
        env = "".join(f" --env {k}={v}" for k, v in launch.env.items())
        add = f"claude mcp add {SERVER_NAME}{env} -- {launch.command} {' '.join(launch.args)}\n"
        config = {"mcpServers": {SERVER_NAME: _stdio_entry(launch, type="stdio")}}
    else:
        entry: dict[str, object] = {"type": "http", "url": launch.url}
        header = ""
        if launch.token_env:
            # Claude Code expands ${VAR} in headers when it connects; the single quotes
            # keep the shell from expanding it into the stored configuration.
            entry["headers"] = _bearer_header(f"${{{launch.token_env}}}")
            value = bearer(f"${{{launch.token_env}}}")
            header = f" --header '{AUTHORIZATION_HEADER}: {value}'"
        add = f"claude mcp add --transport http{header} {SERVER_NAME} {launch.url}\n"
        config = {"mcpServers": {SERVER_NAME: entry}}
    suffix = "" if t is Transport.STDIO else ".http"
    return [
        Snippet(f".mcp{suffix}.json", ".mcp.json at the root of your repository", _json(config)),
        Snippet(f"claude-mcp-add{suffix}.sh", "run once in a terminal", add),
    ]


def claude_desktop(t: Transport, launch: Launch) -> list[Snippet]:
    where = (
        "claude_desktop_config.json (Settings → Developer → Edit Config); restart Claude Desktop"
    )
    if t is Transport.STDIO:
        entry = _stdio_entry(launch)
    else:
        # Claude Desktop spawns local servers only; mcp-remote bridges stdio to HTTP, and
        # expands ${VAR} in its arguments from the environment it is started with.
        args = ["-y", "mcp-remote", launch.url]
        if launch.token_env:
            args += ["--header", f"{AUTHORIZATION_HEADER}:{bearer(f'${{{launch.token_env}}}')}"]
        entry = {"command": "npx", "args": args}
    suffix = "" if t is Transport.STDIO else ".http"
    return [
        Snippet(
            f"claude_desktop_config{suffix}.json",
            where,
            _json({"mcpServers": {SERVER_NAME: entry}}),
        )
    ]


def cursor(t: Transport, launch: Launch) -> list[Snippet]:
    entry: dict[str, object] = _stdio_entry(launch) if t is Transport.STDIO else {"url": launch.url}
    if t is Transport.HTTP and launch.token_env:
        entry["headers"] = _bearer_header(f"${{env:{launch.token_env}}}")
    suffix = "" if t is Transport.STDIO else ".http"
    where = ".cursor/mcp.json in your repository (or ~/.cursor/mcp.json for all projects)"
    return [Snippet(f"mcp{suffix}.json", where, _json({"mcpServers": {SERVER_NAME: entry}}))]


def vscode(t: Transport, launch: Launch) -> list[Snippet]:
    if t is Transport.STDIO:
        entry = _stdio_entry(launch, type="stdio")
    else:
        entry = {"type": "http", "url": launch.url}
        if launch.token_env:
            entry["headers"] = _bearer_header(f"${{env:{launch.token_env}}}")
    suffix = "" if t is Transport.STDIO else ".http"
    where = ".vscode/mcp.json in your repository"
    return [Snippet(f"mcp{suffix}.json", where, _json({"servers": {SERVER_NAME: entry}}))]


def codex(t: Transport, launch: Launch) -> list[Snippet]:
    lines = [f"[mcp_servers.{SERVER_NAME}]"]
    if t is Transport.STDIO:
        lines.append(f"command = {_toml_string(launch.command)}")
        lines.append("args = [" + ", ".join(_toml_string(a) for a in launch.args) + "]")
        if launch.env:
            pairs = ", ".join(f"{k} = {_toml_string(v)}" for k, v in launch.env.items())
            lines.append(f"env = {{ {pairs} }}")
    else:
        lines.append(f"url = {_toml_string(launch.url)}")
        if launch.token_env:
            lines.append(f"bearer_token_env_var = {_toml_string(launch.token_env)}")
    suffix = "" if t is Transport.STDIO else ".http"
    where = "~/.codex/config.toml (or .codex/config.toml in a trusted project)"
    return [Snippet(f"config{suffix}.toml", where, "\n".join(lines) + "\n")]


def gemini_cli(t: Transport, launch: Launch) -> list[Snippet]:
    # Gemini CLI: `httpUrl` is streamable HTTP (`url` would mean the old SSE transport).
    entry: dict[str, object] = (
        _stdio_entry(launch) if t is Transport.STDIO else {"httpUrl": launch.url}
    )
    if t is Transport.HTTP and launch.token_env:
        entry["headers"] = _bearer_header(f"${{{launch.token_env}}}")
    suffix = "" if t is Transport.STDIO else ".http"
    where = ".gemini/settings.json in your repository (or ~/.gemini/settings.json)"
    return [Snippet(f"settings{suffix}.json", where, _json({"mcpServers": {SERVER_NAME: entry}}))]


HOSTS = {
    "claude-code": claude_code,
    "claude-desktop": claude_desktop,
    "cursor": cursor,
    "vscode": vscode,
    "codex": codex,
    "gemini-cli": gemini_cli,
}


def render(host: str, transport: Transport, launch: Launch | None = None) -> list[Snippet]:
    return HOSTS[host](transport, launch or Launch())


def write_examples(root: Path) -> list[Path]:
    """(Re)write the generic example files under ``root`` (the repository's agent_configs/)."""
    written = []
    for host in HOSTS:
        for transport in Transport:
            for snippet in render(host, transport):
                path = root / host / snippet.filename
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(snippet.text)
                written.append(path)
    return written


if __name__ == "__main__":  # python -m maestro_mcp.agent_configs agent_configs
    import sys

    for written_path in write_examples(Path(sys.argv[1])):
        print(written_path)
