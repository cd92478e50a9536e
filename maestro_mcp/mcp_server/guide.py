"""How an agent works with Maestro: the server instructions and the ``maestro://guide`` resource."""

INSTRUCTIONS = """\
Maestro is the shared task board of the humans and agents working on these projects.
Start with start_session, then take work with claim_tasks (the next ready tasks, or one by
id): a claim is yours alone until its lease ends; update_session renews it and logs notes.
Finish with update_task(status="completed", claimToken=…) or give it up with release=true.
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
1. `list_projects` (or rely on the default project), then `list_tasks(ready=true)`.
2. `start_session(name="…", agent="claude-code")` — your session id is in the result.
3. `claim_tasks(sessionId)` — the most urgent ready task is now yours and linked to your
   session (`list_tasks(sessionId=…)` lists yours): keep its `claimToken`. No other agent
   can take it while the lease lasts (default 300 s). Lost the token? `claim_tasks` with
   the task's id gives your own claim back. Nothing claimed? `nothingReady` says why.
4. Work; `update_session(sessionId, note="what you did")` now and then: it also renews
   your claims. If you stop calling, the lease runs out and the task goes back to the pool.
5. `update_task(taskId, status="completed", claimToken=…)` (or `release=true` to give it
   up), then the next `claim_tasks`, and at the end `update_session(sessionId, status="completed")`.

## Planning
`create_tasks(tasks=[…])` creates a whole plan in one call, all or none: give each task a
`ref` and let later ones name it in `dependsOn` or `parentId`.

## Dependencies
`dependsOn` lists tasks that must be completed first; a task is *ready* when it is pending,
its dependencies are completed, and nobody holds a claim on it. Cycles are refused. A task
cannot become in_progress or completed before its dependencies are completed.

## Rules that keep everyone's work safe
- A failed update saying the task "is claimed by session …" means another agent holds it:
  leave it, take another with `claim_tasks`.
- "your claim on task … ended" (claim_lost) means your lease ran out or a person took the
  task over: stop working on it; `claim_tasks` it again if it is still to do.
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
