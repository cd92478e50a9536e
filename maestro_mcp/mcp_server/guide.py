"""How an agent works with Maestro: the server instructions and the ``maestro://guide`` resource."""

INSTRUCTIONS = """\
Maestro is the shared task board of the humans and agents working on these projects.
Start with start_session (name what you are doing, link the tasks you take), set tasks
to in_progress / completed with update_task, and log progress with update_session(note=…).
Pass expectedVersion (the task's version you read) on updates so you never overwrite a
human's newer edit; pass requestId on creates so a retry never duplicates. Every result
carries a seq: changes_since(seq) tells you what others changed since. Subscribe to
maestro://tasks/{id} to hear when a task you work on changes. Full guide: maestro://guide.
"""

GUIDE = """\
# Working with Maestro

Maestro holds projects, tasks and sessions shared live by several agents and humans.
Everything you change appears at once on the humans' board and in other agents' feeds.

## A typical run
1. `list_projects` (or rely on the default project), then `list_tasks(status="pending")`.
2. `start_session(name="…", agent="claude-code", taskIds=[…])` — your session id is in the result.
3. `update_task(taskId, status="in_progress", expectedVersion=<version you read>)`.
4. Work; `update_session(sessionId, note="what you did")` now and then.
5. `update_task(taskId, status="completed", expectedVersion=…)`,
   then `update_session(sessionId, status="completed")`.

## Rules that keep everyone's work safe
- A failed update saying "version conflict" means someone changed the task: `get` it,
  decide whether your change still applies, retry with the new `expectedVersion`.
- Give creates a `requestId` (any unique string); retrying with the same one is harmless.
- Task statuses: pending, in_progress, in_review, blocked, completed, cancelled.
  Session statuses: idle, working, needs_input, completed, failed, stopped.
- `changes_since(since=<seq>)` lists what happened after a seq, oldest first;
  continue with `nextSince`. `expired: true` means re-read what you care about.

## Resources (subscribe to hear about changes)
- `maestro://projects/{projectId}/board` — the project's tasks and sessions.
- `maestro://tasks/{taskId}` — one task.
- `maestro://sessions/{sessionId}` — one session and its latest notes.
"""
