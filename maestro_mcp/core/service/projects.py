"""Projects: create, update, delete, and finding one by id or by name."""

from ..errors import InvalidInput, NameTaken, NoProjectYet, NotFound
from ..events import EventType
from ..ids import PROJECT_PREFIX, new_id
from ..models import Project, ProjectCreate, ProjectPatch
from ..names import same_name
from ..storage import Rows
from ..vocabulary import PROJECTS_LISTED_IN_ERRORS
from . import updates
from .rules import check_version, merged, require_project
from .transaction import Write


def create(w: Write, data: ProjectCreate) -> Project:
    """A name another project has is refused unless ``allow_duplicate`` says otherwise:
    projects are found by name, and one name should find one project."""
    if not data.allow_duplicate:
        _require_free_name(w.rows, data.name)
    project = Project(
        id=new_id(PROJECT_PREFIX),
        name=data.name,
        working_dir=data.working_dir,
        description=data.description,
        created_at=w.now,
        updated_at=w.now,
        version=1,
    )
    w.rows.save_project(project)
    w.emit(EventType.PROJECT_CREATED, project.id, project)
    return project


def update(w: Write, project_id: str, patch: ProjectPatch, expected_version: int | None) -> Project:
    current = require_project(w.rows, project_id)
    check_version(current, expected_version)
    if patch.name is not None and not same_name(patch.name, current.name):
        _require_free_name(w.rows, patch.name, renaming=True)
    updated = merged(current, patch.given(), w.now)
    if updated is current:
        return current
    w.rows.save_project(updated)
    updates.emit_updated(w, updated, current)
    return updated


def delete(w: Write, project_id: str, expected_version: int | None) -> Project:
    """Only ``project:deleted`` is emitted: clients drop every entity of that project."""
    current = require_project(w.rows, project_id)
    check_version(current, expected_version)
    w.rows.delete_project(project_id)
    w.emit(EventType.PROJECT_DELETED, project_id, {"id": project_id, "projectId": project_id})
    return current


def _require_free_name(rows: Rows, name: str, *, renaming: bool = False) -> None:
    taken = [p for p in rows.list_projects() if same_name(p.name, name)]
    if taken:
        what_to_do = (
            "choose another name"
            if renaming
            else "use it, or ask for a second project of that name (allowDuplicate)"
        )
        raise NameTaken(
            f"a project named {taken[0].name!r} exists already: {taken[0].id}; {what_to_do}",
            {"id": taken[0].id},
        )


def resolve(rows: Rows, ref: str | None) -> Project:
    """A project by id or by name (the one rule of core/names.py); with no ref, the
    only project there is."""
    if ref:
        by_id = rows.get_project(ref)
        if by_id is not None:
            return by_id
    projects = rows.list_projects()
    if ref:
        named = [p for p in projects if same_name(p.name, ref)]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            ids = ", ".join(p.id for p in named)
            raise InvalidInput(f"several projects are named {ref!r} ({ids}); use an id")
    if not ref and len(projects) == 1:
        return projects[0]
    if not projects:
        raise NoProjectYet("there is no project yet: create one first", {"field": "project"})
    shown = projects[:PROJECTS_LISTED_IN_ERRORS]
    known = ", ".join(f"{p.name} ({p.id})" for p in shown) or "none yet"
    if ref:
        raise NotFound(f"project {ref!r} not found; projects: {known}", {"id": ref})
    raise InvalidInput(f"say which project: {known}", {"field": "project"})
