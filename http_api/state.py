"""How a handler reaches the core: the app's lifespan state, ``request.state.core``."""

from starlette.requests import HTTPConnection

from maestro_mcp.core.runtime import Core


def core_of(connection: HTTPConnection) -> Core:
    """The running core of a request or a WebSocket."""
    core: Core = connection.state.core
    return core
