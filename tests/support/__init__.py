"""Plain helpers shared by the tests and the benchmark (fixtures live in the conftests).

- ``waiting``: how long anything prompt may take, and waiting on a condition.
- ``servers``: a real server on loopback, in a thread or as a ``maestro`` process.
- ``feeds``: WebSocket and SSE clients of the live feed.
- ``core``: building records on the service and reading its event log.
- ``cli``: the type of the ``run`` fixture and reading ``--json`` output.
- ``mcp``: calling tools and reading resources through an MCP client.
"""
