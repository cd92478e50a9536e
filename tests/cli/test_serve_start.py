"""``maestro serve`` starts light: it says it listens before anything has imported the
MCP SDK (the app loads it afterwards, in the background: http_api/mcp_mount.py), and an
MCP request made the moment it says so is served."""

import sys
import textwrap

from tests.support.mcp import MCP_ACCEPT, initialize_request
from tests.support.servers import spawn_until_listening
from tests.support.waiting import WAIT

HEAVY = ("mcp", "mcp_types", "maestro_mcp.mcp_server")

# ``maestro serve`` itself, with two probes: the modules loaded when it logs that it
# listens, and its MCP load held until then (so that the check cannot race the load,
# and the first MCP request below surely arrives before the MCP server is ready).
PROBE = textwrap.dedent(
    f"""
    import logging, sys, threading
    import http_api.mcp_mount

    listening = threading.Event()

    class AtListening(logging.Handler):
        def emit(self, record):
            if "listening on" in record.getMessage():
                loaded = [m for m in {HEAVY!r} if m in sys.modules]
                print(f"loaded at listening: {{loaded}}", file=sys.stderr, flush=True)
                listening.set()

    logging.getLogger("maestro").addHandler(AtListening())
    build = http_api.mcp_mount._build

    def after_listening(core):
        assert listening.wait({WAIT})
        return build(core)

    http_api.mcp_mount._build = after_listening
    from maestro_mcp.cli.main import main
    main()
    """
)


def test_serve_listens_before_loading_the_mcp_sdk_and_then_serves_mcp(database: str) -> None:
    server = spawn_until_listening(
        [sys.executable, "-c", PROBE, "serve", "--port", "0", "--db", database]
    )
    try:
        assert "loaded at listening: []\n" in server.log, "".join(server.log)
        with server.client() as http:
            opened = http.post(
                "/mcp",
                json=initialize_request(),
                headers=MCP_ACCEPT,
            )
            assert opened.status_code == 200, opened.text
            assert opened.headers["mcp-session-id"]
            assert '"serverInfo"' in opened.text
    finally:
        code = server.terminate()
    assert code == 0
    logged = "".join(server.log)
    for trouble in ("Traceback", "ERROR", "Warning"):
        assert trouble not in logged, logged
