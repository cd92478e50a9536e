"""``maestro serve``: REST, the live feeds and the web board in one uvicorn process."""

import ipaddress
import logging
import re
import sys
from pathlib import Path

import click

from maestro_mcp.core.storage import Durability
from maestro_mcp.paths import data_directory, resolve_database
from maestro_mcp.private_files import is_private
from maestro_mcp.settings import (
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_SEND_TIMEOUT,
    LOOPBACK_HOSTS,
    Settings,
)

from .options import check_database, database_options, log_options

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# The characters a server token may hold: what an Authorization header carries plainly,
# and what the logs' masking recognises whole (no space, quote or backslash).
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9._~+/=:@!$%^&*()\[\]{}|<>?,;#-]+")


def read_token(token: str | None, token_file: Path | None) -> str | None:
    secret = _given_token(token, token_file)
    if secret is not None and not _TOKEN_TEXT.fullmatch(secret):
        raise click.UsageError(
            "the token may not hold spaces, quotes or backslashes (make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return secret


def _given_token(token: str | None, token_file: Path | None) -> str | None:
    if token:
        return token.strip()
    if token_file is None:
        return None
    # The file is the user's, not Maestro's: refused, not changed, when others may use it.
    if not is_private(token_file):
        raise click.UsageError(
            f"other users may read or change {token_file}; run: chmod 600 {token_file}"
        )
    return token_file.read_text().strip() or None


def parse_origins(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """Each ``--allowed-origin`` as the browser sends it; a value that is no origin
    (a path, no scheme) would never match, so it is refused at start."""
    if not values:
        return values
    from http_api.cors import parse_origin

    try:
        return tuple(dict.fromkeys(parse_origin(value) for value in values))
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


@click.command()
@click.option(
    "--host",
    default=DEFAULT_HOST,
    envvar="MAESTRO_HOST",
    show_default=True,
    show_envvar=True,
    help="Address to bind. Anything but loopback needs a token.",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    type=click.IntRange(0, 65535),
    envvar="MAESTRO_PORT",
    show_default=True,
    show_envvar=True,
    help="Port to bind (0 picks a free one).",
)
@database_options
@log_options
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="Extra Host header value to accept (name or name:port); repeatable.",
)
@click.option(
    "--allowed-origin",
    "allowed_origins",
    multiple=True,
    callback=parse_origins,
    help="Browser Origin whose pages may call the API, CORS included: scheme://host[:port], "
    "e.g. http://localhost:5173; '*' for any (needs a token); repeatable.",
)
@click.option(
    "--token",
    envvar="MAESTRO_TOKEN",
    show_envvar=True,
    help="The server's own admin token (acts as 'admin'); with it, or any named token "
    "(maestro token), every request needs 'Authorization: Bearer TOKEN'.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="MAESTRO_TOKEN_FILE",
    show_envvar=True,
    help="Read the token from this file (refused unless only its owner may use it: chmod 600).",
)
@click.option(
    "--project",
    envvar="MAESTRO_PROJECT",
    show_envvar=True,
    help="Project (id or name) that MCP tools use when an agent names none.",
)
@click.option(
    "--max-connections",
    default=DEFAULT_MAX_CONNECTIONS,
    type=click.IntRange(min=1),
    envvar="MAESTRO_MAX_CONNECTIONS",
    show_default=True,
    show_envvar=True,
    help="Connections served at once, live streams included; more are answered 503.",
)
@click.option(
    "--head-timeout",
    default=DEFAULT_HEAD_TIMEOUT,
    type=click.FloatRange(min=0, min_open=True),
    envvar="MAESTRO_HEAD_TIMEOUT",
    show_default=True,
    show_envvar=True,
    help="Seconds a client has to send a request's line and headers; then 408 and close.",
)
@click.option(
    "--keep-alive-timeout",
    default=DEFAULT_KEEP_ALIVE_TIMEOUT,
    type=click.FloatRange(min=0, min_open=True),
    envvar="MAESTRO_KEEP_ALIVE_TIMEOUT",
    show_default=True,
    show_envvar=True,
    help="Seconds an idle connection stays open between requests.",
)
@click.option(
    "--send-timeout",
    default=DEFAULT_SEND_TIMEOUT,
    type=click.FloatRange(min=0, min_open=True),
    envvar="MAESTRO_SEND_TIMEOUT",
    show_default=True,
    show_envvar=True,
    help="Seconds a client may read none of what it was sent before it is dropped.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="How much to log on stderr; at every level, tokens are masked.",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every HTTP request, on stdout (a ?token= value masked).",
)
def serve(
    host: str,
    port: int,
    data_dir: Path | None,
    database: str | None,
    durability: str,
    event_retention: int,
    event_retention_bytes: int,
    event_retention_age: int,
    max_write_log_bytes: int,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    token: str | None,
    token_file: Path | None,
    project: str | None,
    max_connections: int,
    head_timeout: float,
    keep_alive_timeout: float,
    send_timeout: float,
    log_level: str,
    access_log: bool,
) -> None:
    """Start the Maestro server (REST API, WebSocket and SSE feeds).

    \b
    Example:
      maestro serve                      # http://127.0.0.1:3000, per-user database
      maestro serve --port 8080 --db ./maestro.db --durability full
    """
    from http_api import create_app
    from http_api.cors import ANY_ORIGIN
    from http_api.server import MaestroServer, server_config
    from maestro_mcp import heap
    from maestro_mcp.core.runtime import Core

    secret = read_token(token, token_file)
    if not is_loopback(host) and not secret:
        raise click.UsageError(
            f"binding {host} exposes Maestro beyond this machine; set a token with "
            "--token, MAESTRO_TOKEN or --token-file"
        )
    if ANY_ORIGIN in allowed_origins and not secret:
        raise click.UsageError(
            f"--allowed-origin '{ANY_ORIGIN}' lets every web page you open read and change "
            "Maestro; set a token with --token, MAESTRO_TOKEN or --token-file"
        )
    hosts = list(LOOPBACK_HOSTS) + list(allowed_hosts)
    if host not in ("0.0.0.0", "::"):
        named = f"[{host}]" if ":" in host else host
        if named not in hosts:  # the address it listens on is a name clients use for it
            hosts.append(named)
    settings = Settings(
        database=resolve_database(database, data_dir),
        durability=Durability(durability),
        event_retention=event_retention,
        event_retention_bytes=event_retention_bytes,
        event_retention_age=event_retention_age,
        max_write_log_bytes=max_write_log_bytes,
        data_dir=data_directory(database, data_dir),
        allowed_hosts=tuple(hosts),
        allowed_origins=allowed_origins,
        token=secret,
        default_project=project,
        max_connections=max_connections,
        head_timeout=head_timeout,
        keep_alive_timeout=keep_alive_timeout,
        send_timeout=send_timeout,
    )
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if log_level == "info":
        # One line says where Maestro listens; the MCP SDK's session chatter is debug detail.
        logging.getLogger("mcp").setLevel(logging.WARNING)
    check_database(settings.database, settings.durability, settings.data_dir)
    heap.tune()
    core = Core(settings)
    app = create_app(core)
    config = server_config(
        app,
        settings,
        host=host,
        port=port,
        log_level="warning" if log_level == "info" else log_level,
        access_log=access_log,
        timeout_graceful_shutdown=3,
    )
    origins = ", ".join(allowed_origins) or "same origin only"
    banner = (
        f" (database {core.store.location}, durability {durability}; "
        f"hosts {', '.join(hosts)}; origins {origins})"
    )
    server = MaestroServer(config, core.feed, banner)
    heap.settle()  # before it accepts a connection (maestro_mcp/heap.py)
    server.run()
    if not server.started:
        sys.exit(1)
