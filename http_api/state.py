"""How a handler reaches the core: the app's lifespan state, ``request.state.core``."""

from starlette.requests import HTTPConnection

from maestro_mcp.core.runtime import Core


def core_of(connection: HTTPConnection) -> Core:
    """The running core of a request or a WebSocket."""
    # The lifespan state's dict itself: ``connection.state`` wraps it in a new object
    # for every request, which a handler that reaches the core several times paid for.
    core: Core = connection.scope["state"]["core"]
    return core
