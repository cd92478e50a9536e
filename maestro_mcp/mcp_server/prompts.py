"""Prompts: the two workflows an agent host offers its user as commands (Claude Code
shows MCP prompts as slash commands, e.g. ``/maestro:work_on_next_task``).

Each is short (it lands in the model's context) and names the tools in the order
they are used; the rules behind them are in the guide resource (guide.py).
"""

from typing import Annotated, Any

from mcp.server import MCPServer
from pydantic import Field

ProjectArg = Annotated[str, Field(description="Project id or name (optional).")]


def register_prompts(server: MCPServer[Any]) -> None:
    @server.prompt(
        title="Work on the next ready task",
        description="Claim the most urgent ready task, do it, report progress, complete it.",
    )
    def work_on_next_task(project: ProjectArg = "") -> str:
        on = f' in project "{project}"' if project else ""
        named = f', project="{project}"' if project else ""
        return f"""\
Work on the next ready task{on} with the Maestro tools:
1. start_session(name="<what you will do>", agent="<your kind>"{named}) unless you have one.
2. claim_tasks(sessionId, paths=[<files you expect to edit>]): it gives the most urgent
   ready task with its description, prompt and claimToken, and reserves those files. If
   nothingReady comes back instead, tell me why and stop.
3. Do the task. Every few steps, update_session(sessionId, note="<what you did>"): it
   renews your claim and returns answers and your unread count (read with message). If I
   must decide, update_session(sessionId, ask={{text: "<your question>"}}) and wait for
   the answer in a later update_session result.
4. When it is done: update_task(taskId, status="completed", claimToken=<token>). If you
   cannot finish it: update_task(taskId, release=true, claimToken=<token>) and say why.
5. If a call answers claim_lost, stop working on that task: someone else has it now.
Then tell me what you did and what is next."""

    @server.prompt(
        title="Plan a goal into tasks",
        description="Break a goal into small, dependency-ordered tasks on the shared board.",
    )
    def plan_goal(
        goal: Annotated[str, Field(description="What should be achieved.")],
        project: ProjectArg = "",
    ) -> str:
        named = f', project="{project}"' if project else ""
        return f"""\
Plan this goal into tasks on the Maestro board: {goal}

1. list_tasks({named.lstrip(", ")}) to see what exists already; do not duplicate it.
2. Break the goal into small tasks, each doable by one agent in one session, with a
   title, a description saying when it is done, and a prompt for the agent who takes it.
3. Create them all in one call: create_tasks(tasks=[{{ref, title, description, prompt,
   priority, dependsOn: [refs of the tasks it needs first]}}, …]{named},
   requestId="<unique>"), each task after those it depends on. A task waits until its
   dependencies are completed, so the order of work follows.
4. Show me the plan: each task's id and title, indented under what it depends on."""
