"""Claims from the terminal: claim, next, release, heartbeat, and a guarded status change."""

from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer


def test_claim_commands(run: Run, server: LiveServer) -> None:
    run("project", "create", "p")
    schema = as_json(run("task", "create", "schema", "--label", "db", "--json"))
    api = as_json(run("task", "create", "api", "--depends-on", schema["id"], "--json"))
    assert api["dependsOn"] == [schema["id"]]
    session = as_json(run("session", "create", "agent", "--json"))

    assert [t["id"] for t in as_json(run("task", "list", "--ready", "--json"))] == [schema["id"]]
    assert [t["id"] for t in as_json(run("task", "list", "--blocked", "--json"))] == [api["id"]]
    assert [t["id"] for t in as_json(run("task", "list", "--label", "db", "--json"))] == [
        schema["id"]
    ]

    claimed = run("task", "claim", schema["id"], "--session", session["id"], "--lease", "60")
    assert claimed.stdout.startswith(f"✓ Claimed {schema['id']} for {session['id']} until ")
    token = claimed.stdout.split("claim token: ")[1].strip()
    assert "⚑" in run("task", "list").stdout
    assert f"claimed by   {session['id']}" in run("task", "get", schema["id"]).stdout

    stolen = run("task", "update", schema["id"], "--status", "completed", ok=False)
    assert stolen.exit_code == 5
    assert "claimed by session" in stolen.stderr
    assert "--override to take the task over" in stolen.stderr  # update has --override
    early = run("task", "update", api["id"], "--status", "in_progress", ok=False)
    assert early.exit_code == 5
    assert f"waits for {schema['id']}" in early.stderr
    assert "--override to change it anyway" in early.stderr
    other = as_json(run("session", "create", "other", "--json"))
    waiting = run("task", "claim", api["id"], "--session", other["id"], ok=False)
    assert waiting.exit_code == 5
    assert "--override" not in waiting.stderr  # task claim has no such option
    beat = run("session", "heartbeat", session["id"])
    assert "1 claim renewed" in beat.stdout
    done = as_json(
        run(
            "task",
            "update",
            schema["id"],
            "--status",
            "completed",
            "--claim-token",
            token,
            "--json",
        )
    )
    assert done["claim"] is None

    grants = as_json(run("task", "next", "--session", session["id"], "--count", "3", "--json"))
    assert [g["task"]["id"] for g in grants] == [api["id"]]
    said = run("task", "next", "--session", session["id"]).stdout.strip()
    assert said == "nothing ready to claim: no task is pending"  # its own claim is not "others"
    why = as_json(run("task", "next", "--session", other["id"], "--json"))
    assert why["claims"] == []
    assert why["nothingReady"]["claimed"] == 1
    no_token = run("task", "release", api["id"], ok=False)
    assert no_token.exit_code == 2
    released = as_json(run("task", "release", api["id"], "--override", "--json"))
    assert released["status"] == "pending"
    assert server.http.get(f"/api/tasks/{api['id']}").json()["claim"] is None
