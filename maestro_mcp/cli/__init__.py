"""The ``maestro`` command line.

Client commands (project, task, session, status, watch) talk to a running server
over REST and start fast: they import the core's vocabulary, never its models.
``serve`` and ``mcp`` build a core runtime and import the server when they run.
"""
