"""The one place Maestro reaches into the private or undocumented internals of a library.

Rule: every use of something a library does not document as public — an attribute
with a leading underscore, a class from an implementation module, a method Maestro
overrides that the library never promised to call — goes through this module, never
inline at the call site. Each helper below:

- states the library version it was checked against and what Maestro uses it for;
- checks that the internal is still there and otherwise raises ``CompatError``,
  naming the library, the installed version, the missing attribute and its use;
- has a test in ``tests/test_compat.py`` that it is present on the installed
  versions, and one that its absence gives that error.

So an upgrade that removes an internal fails those tests by name, not somewhere
deep in a live stream. When one breaks: find the library's public replacement (its
changelog, or its own code that used the same internal) and use that instead,
here; or re-check the new internal, then update the helper, the version it was
checked against and its tests. Pin the library below the breaking version only as
a stopgap.

Checks run where the internal is first needed — at import, per connection or per
subscribe call — never per event.

This module imports no library at its top (the MCP SDK takes most of a second): the
HTTP server imports it before it listens, and loads the MCP SDK only after
(http_api/mcp_mount.py); each helper imports what it checks.
"""

import importlib
import importlib.metadata
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import uvicorn
    from mcp.server import MCPServer
    from mcp.server.connection import Connection
    from mcp.server.lowlevel import Server
    from mcp.server.session import ServerSession
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

_LifespanT = TypeVar("_LifespanT")
_ClassT = TypeVar("_ClassT", bound=type)

HERE = "maestro_mcp/compat.py"


class CompatError(RuntimeError):
    """A library no longer has an internal that Maestro relies on."""


def _missing(library: str, what: str, used_for: str) -> CompatError:
    """The error for ``what`` gone from ``library``, used by Maestro ``used_for``."""
    return CompatError(
        f"{library} {_version(library)} no longer has {what} (used {used_for}); see {HERE}"
    )


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


# --- mcp (checked against 2.3.0) --------------------------------------------------------


def lowlevel_server(server: "MCPServer[_LifespanT]") -> "Server[_LifespanT]":
    """The low-level ``Server`` behind an ``MCPServer``.

    Used to register the 2025-era ``resources/subscribe`` and ``resources/unsubscribe``
    handlers: MCPServer has no public hook for them (the SDK's own everything-server
    registers them on the low-level server the same way). Called once per server.
    """
    from mcp.server.lowlevel import Server

    lowlevel = getattr(server, "_lowlevel_server", None)
    if not isinstance(lowlevel, Server):
        raise _missing(
            "mcp", "MCPServer._lowlevel_server", "to register resources/subscribe handlers"
        )
    return lowlevel


def connection_of(session: "ServerSession") -> "Connection":
    """The connection a request's ``ServerSession`` belongs to.

    ``ctx.session`` is a per-request proxy; what outlives the request is its
    connection, whose standalone stream carries unsolicited notifications to a
    2025-era client. The SDK gives lowlevel handlers the connection only through
    this attribute. Called once per ``resources/(un)subscribe`` request.
    """
    from mcp.server.connection import Connection

    connection = getattr(session, "_connection", None)
    if not isinstance(connection, Connection):
        raise _missing(
            "mcp",
            "ServerSession._connection",
            "to send resources/updated to clients that called resources/subscribe",
        )
    return connection


# --- uvicorn (checked against 0.54.0) ---------------------------------------------------


def forget_captured_signals(server: "uvicorn.Server") -> None:
    """Make ``server`` forget the SIGINT/SIGTERM it caught, so that leaving
    ``capture_signals`` does not re-raise them.

    uvicorn re-raises a caught signal after its graceful shutdown, so the process
    reports a kill; Maestro exits with 0 instead when that shutdown completed.
    """
    captured = getattr(server, "_captured_signals", None)
    if not isinstance(captured, list):
        raise _missing(
            "uvicorn",
            "Server._captured_signals",
            "to exit with status 0 after a signal asked for a clean shutdown",
        )
    captured.clear()


def overrides(**used_for: str) -> Callable[[_ClassT], _ClassT]:
    """Class decorator: each named method the class defines overrides an undocumented
    method of a base class, for the stated reason.

    A method renamed upstream would leave the override silently never called, so
    this is checked when the class is defined (once, at import)::

        @overrides(shutdown="to end live streams first")
        class MaestroServer(uvicorn.Server): ...
    """

    def check(cls: _ClassT) -> _ClassT:
        # The library's classes: the bases from another package than the class's own
        # (a subclass of Maestro's subclass still overrides the library's methods).
        own = cls.__module__.partition(".")[0]
        bases = [b for b in cls.__mro__[1:] if b.__module__.partition(".")[0] != own]
        base = bases[0] if bases else cls.__mro__[1]
        library = base.__module__.partition(".")[0]
        for name, reason in used_for.items():
            if name not in vars(cls):
                raise TypeError(f"{cls.__qualname__} does not define {name}()")
            if not any(callable(vars(b).get(name)) for b in bases):
                raise _missing(library, f"{base.__qualname__}.{name}()", f"overridden {reason}")
        return cls

    return check


_SANSIO_MODULE = "uvicorn.protocols.websockets.websockets_sansio_impl"
_RAW_FRAMES_USE = "to write pre-built WebSocket frames to the socket (http_api/frames.py)"


def _implementation_class(module: str, name: str, used_for: str) -> Any:
    """Class ``name`` of uvicorn's implementation ``module``, imported on first use, so
    that a move breaks only what uses it, with this message, and not every importer
    of this module."""
    try:
        imported = importlib.import_module(module)
    except ImportError as e:
        raise _missing("uvicorn", f"module {module}", used_for) from e
    found = getattr(imported, name, None)
    if found is None:
        raise _missing("uvicorn", f"{module}.{name}", used_for)
    return found


def _check_state(
    owner: object, kind: str, state: tuple[tuple[str, str], ...], used_for: str
) -> None:
    """Check that ``owner`` (a uvicorn ``kind``) has every ``(attribute, meaning)``."""
    for name, meaning in state:
        if not hasattr(owner, name):
            raise _missing("uvicorn", f"{kind}.{name} ({meaning})", used_for)


def sansio_websocket_protocol() -> "type[WebSocketsSansIOProtocol]":
    """uvicorn's websockets sans-I/O protocol class (its ``ws="websockets-sansio"``),
    from its implementation module, for http_api/frames.py to subclass.

    Imported on first use (``_implementation_class``).
    """
    protocol: type[WebSocketsSansIOProtocol] = _implementation_class(
        _SANSIO_MODULE, "WebSocketsSansIOProtocol", _RAW_FRAMES_USE
    )
    return protocol


# Connection state that http_api/frames.py reads on every write, so checked once per
# connection instead: (attribute, what it says).
_PROTOCOL_STATE = (
    ("transport", "the connection's asyncio transport"),
    ("close_sent", "whether a close frame was sent, after which nothing may be"),
    ("disconnected", "whether the client is gone"),
)


def check_websocket_state(protocol: "WebSocketsSansIOProtocol") -> None:
    """Check, once per connection and before its handshake, that ``protocol`` still
    has the state the frame writer reads on every write."""
    _check_state(protocol, "WebSocketsSansIOProtocol", _PROTOCOL_STATE, _RAW_FRAMES_USE)


def accepted_websocket_scope(
    protocol: "WebSocketsSansIOProtocol",
) -> MutableMapping[str, Any] | None:
    """After uvicorn's ``handle_connect``: the ASGI scope it made for the connection,
    or None if it refused the handshake (it then has sent its response and a close).
    """
    if protocol.close_sent:
        return None
    scope: MutableMapping[str, Any] | None = getattr(protocol, "scope", None)
    if scope is None or not isinstance(scope.get("extensions"), dict):
        raise _missing(
            "uvicorn",
            "WebSocketsSansIOProtocol.scope (with its extensions) after handle_connect()",
            _RAW_FRAMES_USE,
        )
    return scope


_HTTPTOOLS_MODULE = "uvicorn.protocols.http.httptools_impl"
_RAW_CHUNKS_USE = "to write pre-built SSE chunks to the socket (http_api/chunks.py)"


def httptools_http_protocol() -> "type[HttpToolsProtocol]":
    """uvicorn's httptools HTTP protocol class (its ``http="httptools"``, which
    ``"auto"`` picks when httptools is installed), from its implementation module,
    for http_api/chunks.py to subclass.

    Imported on first use (``_implementation_class``).
    """
    protocol: type[HttpToolsProtocol] = _implementation_class(
        _HTTPTOOLS_MODULE, "HttpToolsProtocol", _RAW_CHUNKS_USE
    )
    return protocol


def request_cycle(protocol: "HttpToolsProtocol") -> "RequestResponseCycle | None":
    """The request/response cycle ``protocol`` is on: after its ``on_headers_complete``,
    the one it made for that request, or the one before if it made none (a WebSocket
    upgrade); None before the connection's first request."""
    if not hasattr(protocol, "cycle"):
        raise _missing(
            "uvicorn",
            "HttpToolsProtocol.cycle (the request/response cycle of the connection)",
            _RAW_CHUNKS_USE,
        )
    return protocol.cycle


_HEAD_DEADLINE_USE = (
    "to tell a late request head from one uvicorn is not reading (http_api/connections.py)"
)


def response_under_way(protocol: "HttpToolsProtocol") -> bool:
    """Whether a request of ``protocol``'s connection is being answered, or waits its
    turn behind one (pipelined): uvicorn does not read the connection meanwhile, so a
    request head arriving slowly then is not the client's doing.

    ``protocol.cycle`` is the cycle of the last request whose head was read; its
    response completes after every earlier one's. Called when a head is late, rarely.
    """
    if not hasattr(protocol, "cycle"):
        raise _missing(
            "uvicorn",
            "HttpToolsProtocol.cycle (the request/response cycle of the connection)",
            _HEAD_DEADLINE_USE,
        )
    cycle = protocol.cycle
    if cycle is None:
        return False
    complete = getattr(cycle, "response_complete", None)
    if not isinstance(complete, bool):
        raise _missing(
            "uvicorn",
            "RequestResponseCycle.response_complete (whether the end of the body was written)",
            _HEAD_DEADLINE_USE,
        )
    return not complete


# Response state that http_api/chunks.py reads on every write, so checked once per
# request instead: (attribute, what it says).
_CYCLE_STATE = (
    ("scope", "the request's ASGI scope"),
    ("transport", "the connection's asyncio transport"),
    ("response_started", "whether the status line and headers were written"),
    ("response_complete", "whether the end of the body was written"),
    ("chunked_encoding", "whether the body goes in chunks"),
    ("disconnected", "whether the client is gone"),
)


def check_request_cycle(cycle: "RequestResponseCycle") -> None:
    """Check, once per request and before its app runs, that ``cycle`` still has the
    state the chunk writer reads on every write."""
    _check_state(cycle, "RequestResponseCycle", _CYCLE_STATE, _RAW_CHUNKS_USE)
