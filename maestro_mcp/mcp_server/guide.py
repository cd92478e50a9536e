"""How an agent works with Maestro: the server instructions and the ``maestro://guide`` resource."""

INSTRUCTIONS = """\
Maestro is the shared task board of the humans and agents working on these projects.
Start with start_session, then take work with claim_tasks (the next ready tasks, or one by
id; paths=[…] reserves the files you will edit with the claim): a claim is yours alone
until its lease ends. update_session logs notes and renews your claims and file
reservations; its result carries the answers to your questions and your unread count.
To decide something a person must decide, update_session(ask={text, choices?}) and wait.
message sends to other sessions (agent:NAME, humans, project) and reads your inbox; say
read=[ids] once read. Finish with update_task(status="completed", claimToken=…) or give it
up with release=true. Pass expectedVersion on updates and requestId on creates. Every
result carries a seq: changes_since(seq) tells you what others changed since. Subscribe
to maestro://sessions/{id}/inbox to hear of mail and answers. Commit with
MAESTRO_SESSION=<your sessionId> (or export it) so your own reservations don't block you.
Full guide: maestro://guide.
"""

GUIDE = """\
# Working with Maestro

Maestro holds projects, tasks and sessions shared live by several agents and humans.
Everything you change appears at once on the humans' board and in other agents' feeds.

## A typical agent loop
1. `list_projects` (or rely on the default project), then `list_tasks(ready=true)`.
2. `start_session(name="…", agent="claude-code")` — your session id is in the result.
3. `claim_tasks(sessionId, paths=["src/api/**"])` — the most urgent ready task is now
   yours and linked to your session, and the files you will edit are reserved with it,
   in one step: if another session holds them, nothing is claimed and the error says who
   holds which pattern until when. Keep the `claimToken`. No other agent can take the
   task while the lease lasts (default 300 s). Lost the token? `claim_tasks` with the
   task's id gives your own claim back. Nothing claimed? `nothingReady` says why.
4. Work; `update_session(sessionId, note="what you did")` now and then: each call renews
   your claims and file reservations, delivers the answers to your questions
   (`answers`, each once) and says how many messages you have not read (`unread`). If
   you stop calling, the leases run out: the task goes back to the pool, the files free.
5. Coordinate with `message`: e.g. `message(sessionId, to=["agent:codex"], subject="API",
   body="/v2/login now returns a token")`. Every `message` call returns your unread inbox
   (oldest first; long bodies cut, `get` reads one whole); mark what you read with
   `read=[ids]` (or `ack=[ids]` to acknowledge), reply with `replyTo=<id>`.
6. When a person must decide: `update_session(sessionId, ask={"text": "Drop the v1
   API?", "choices": ["yes", "no"]})`. Your session shows `needs_input` on the board;
   the answer arrives as a change of your session and inbox resources, and in your next
   `update_session` result (`answers`). Meanwhile work on what does not depend on it.
7. `update_task(taskId, status="completed", claimToken=…)` (or `release=true` to give it
   up) releases the claim and the files reserved with it; then the next `claim_tasks`,
   and at the end `update_session(sessionId, status="completed")`, which releases the
   rest.

## Planning
`create_tasks(tasks=[…])` creates one task or a whole plan in one call, all or none: give
each task a `ref` and let later ones name it in `dependsOn` or `parentId`. A task is
created pending; set another status with `update_task`.

## Dependencies
`dependsOn` lists tasks that must be completed first; a task is *ready* when it is pending,
its dependencies are completed, and nobody holds a claim on it. Cycles are refused. A task
cannot become in_progress or completed before its dependencies are completed.

## Messages
Address sessions by id, `agent:NAME` (every active session of that agent in the project
but yours), `humans` (the people on the board: one shared inbox) or `project` (every
active session but yours, and the humans). A reply (`replyTo`) joins the thread and,
without `to`, goes back to its sender. Reading the inbox marks nothing read: say `read`.

## Questions
`ask` takes `text`, and optionally `choices` (the answer is one of them, or any text with
`allowText: true`), `taskId`, and `timeoutSeconds` with a `default` that answers it when
nobody has in time (`defaulted: true`). The first answer wins. When your last open
question is answered your session goes back to `working`.

## File reservations
Patterns are repository-relative paths or globs (`*`, `?`, `[…]`, `**`); a pattern covers
exactly the paths it matches (`src/main.py`, `src/**/*.py`); a directory and everything
under it is written with a trailing `/` (`src/api/`, shown as `src/api/**`), so `src/api`
alone is that one name. Reserve exclusively
(default) or `shared=true` (others may share, nobody may take them exclusively).
`update_session(reserve=[…])` and `release=[…]` reserve and free files apart from a claim;
a conflict is refused as a whole, naming the holder. A git pre-commit guard refuses a
commit that touches files another session holds: commit with
`MAESTRO_SESSION=<your sessionId> git commit …` (or export it) so your own reservations
don't block you.

## Rules that keep everyone's work safe
- A failed update saying the task "is claimed by session …" means another agent holds it:
  leave it, take another with `claim_tasks`.
- "your claim on task … ended" (claim_lost) means your lease ran out or a person took the
  task over: stop working on it; `claim_tasks` it again if it is still to do.
- "files reserved by another session" means someone edits them: work on other files,
  message the holder, or wait until the time it names.
- A failed update saying "version conflict" means someone changed the task: `get` it,
  decide whether your change still applies, retry with the new `expectedVersion`.
- Give creates a `requestId` (any unique string); retrying with the same one is harmless.
- Task statuses: pending, in_progress, in_review, blocked, completed, cancelled.
  Session statuses: idle, working, needs_input, completed, failed, stopped.
- `changes_since(since=<seq>)` lists what happened after a seq, oldest first;
  continue with `nextSince`. `expired: true` means re-read what you care about.

## Resources (subscribe to hear about changes)
- `maestro://projects/{projectId}/board` — the project's tasks, sessions, open questions
  and reserved files.
- `maestro://tasks/{taskId}` — one task.
- `maestro://sessions/{sessionId}` — one session, its latest notes, open questions and
  reserved files.
- `maestro://sessions/{sessionId}/inbox` — its unread messages and its questions (open,
  and answered): subscribe to hear of new mail and answers without polling.
"""
