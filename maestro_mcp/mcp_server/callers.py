"""Who calls a tool: the principal its HTTP request authenticated as, or ``LOCAL`` over
stdio, and the MCP client's name (``clientInfo.name``) where the client said it.

``MaestroTool.run`` (tools.py) finds the caller of each call from the SDK's request
context and runs the tool inside ``calling``; the tool's writes then name the caller
as their actor (``caller().actor``), and its scope decides whether the tool may run.
A stdio server is as trusted as the files it opens: anyone who can start it can read
the database, so it acts as ``LOCAL``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from maestro_mcp.core.access import LOCAL, PRINCIPAL_KEY, Principal, actor_name


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    client: str | None = None

    @property
    def actor(self) -> str:
        return actor_name(self.principal, self.client)


_CALLER: ContextVar[Caller | None] = ContextVar("maestro_mcp_caller", default=None)
_NOBODY_SAID = Caller(LOCAL)  # outside of a tool call: only stdio code and tests get here


def caller() -> Caller:
    """The caller of the tool running now."""
    return _CALLER.get() or _NOBODY_SAID


@contextmanager
def calling(who: Caller) -> Iterator[None]:
    token = _CALLER.set(who)
    try:
        yield
    finally:
        _CALLER.reset(token)


def caller_of(context: Any) -> Caller:
    """The caller of a request, from the SDK's context for it (``mcp.server.Context``)."""
    try:
        request_context = context.request_context
    except ValueError:  # no request: called outside of any session
        return Caller(LOCAL)
    request = request_context.request
    # Over stdio (and in memory) there is no request: the caller can open the database
    # itself. Over HTTP, the edge (http_api/edge.py) put the principal in the request's scope; a
    # request without one never got past it, so none is a bug: fail closed (KeyError).
    principal: Principal = LOCAL if request is None else request.scope[PRINCIPAL_KEY]
    params = getattr(request_context.session, "client_params", None)
    info = getattr(params, "client_info", None)
    return Caller(principal, getattr(info, "name", None))
