"""maestro task import: a plan file (Markdown checklist or JSON) becomes tasks at once."""

import json
from pathlib import Path

from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer

CHECKLIST = """\
# Login

- [ ] Design the schema
  - [ ] Users table
  - [ ] Sessions table
- [x] Pick a library
  - [ ] Read its docs
- [ ] Build the form

Some prose, which is not a task.
"""


def test_a_markdown_checklist_becomes_tasks_and_sub_tasks(
    run: Run, server: LiveServer, tmp_path: Path
) -> None:
    run("project", "create", "p")
    plan = tmp_path / "plan.md"
    plan.write_text(CHECKLIST)
    out = run("task", "import", str(plan))
    assert "1 done item left out" in out.stdout
    created = as_json(run("task", "list", "--json"))
    titles = {t["title"]: t for t in created}
    assert set(titles) == {
        "Design the schema",
        "Users table",
        "Sessions table",
        "Read its docs",
        "Build the form",
    }
    schema = titles["Design the schema"]["id"]
    assert titles["Users table"]["parentId"] == schema
    assert titles["Sessions table"]["parentId"] == schema
    assert titles["Read its docs"]["parentId"] is None  # its parent was done: not imported
    assert titles["Build the form"]["parentId"] is None


def test_a_json_plan_names_earlier_tasks_by_ref(run: Run, tmp_path: Path) -> None:
    run("project", "create", "p")
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "tasks": [
                    {"ref": "schema", "title": "Design the schema"},
                    {"title": "Build the API", "dependsOn": ["schema"], "priority": "high"},
                ]
            }
        )
    )
    schema, api = as_json(run("task", "import", str(plan), "--json"))
    assert api["dependsOn"] == [schema["id"]]
    assert api["priority"] == "high"


def test_a_bad_plan_says_what_is_wrong_and_creates_nothing(run: Run, tmp_path: Path) -> None:
    run("project", "create", "p")
    empty = tmp_path / "notes.md"
    empty.write_text("# Just notes\n\nNo checklist here.\n")
    refused = run("task", "import", str(empty), ok=False)
    assert refused.exit_code == 4
    assert "has no checklist items" in refused.stderr
    out_of_order = tmp_path / "plan.json"
    out_of_order.write_text(
        json.dumps([{"title": "a", "dependsOn": ["b"]}, {"ref": "b", "title": "b"}])
    )
    refused = run("task", "import", str(out_of_order), ok=False)
    assert refused.exit_code == 4
    assert "a task later in the batch" in refused.stderr
    assert as_json(run("task", "list", "--json")) == []
