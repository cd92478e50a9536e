"""The git pre-commit guard in a real git repository against a real server (both stores):
``maestro guard install`` writes the hook, and ``git commit`` runs it as a process of its
own with the Python that installed it. A commit touching files another session holds is
refused, naming the holder and until when; one touching other files, or the committer's
own session's, goes through; --no-verify and MAESTRO_GUARD=off bypass it; a server that is
down lets the commit through with a warning."""

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from maestro_mcp.cli import guard
from maestro_mcp.cli.client import MaestroClient, unreachable
from maestro_mcp.cli.hook import BACKUP, MARKER
from maestro_mcp.core.service import reservations
from maestro_mcp.protocol import AUTHORIZATION_HEADER, TOKENS_PATH, bearer
from tests.support.ci import missing
from tests.support.cli import Run, as_json
from tests.support.rest import new_session
from tests.support.servers import LiveServer, free_port


class Repository:
    """A git repository in a temporary directory, committed to as a person does, with
    git's global and system configuration kept out (the suite's user's hooks too)."""

    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env

    def git(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(
            ["git", *args],
            cwd=cwd or self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def write(self, *files: str) -> None:
        for name in files:
            file = self.path / name
            file.parent.mkdir(parents=True, exist_ok=True)
            with file.open("a") as out:
                out.write(f"{name}\n")

    def commit(
        self, *files: str, env: dict[str, str] | None = None, flags: tuple[str, ...] = ()
    ) -> "subprocess.CompletedProcess[str]":
        """Change ``files``, stage them and commit: the hook runs unless ``--no-verify``."""
        self.write(*files)
        added = self.git("add", "--", *files)
        assert added.returncode == 0, added.stderr
        done = self.git("commit", "-m", f"change {' '.join(files)}", *flags, env=env)
        if done.returncode != 0:  # refused: nothing of it stays staged for the next test step
            self.git("reset", "-q")
        return done

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def git_env(server: LiveServer, tmp_path: Path) -> dict[str, str]:
    if shutil.which("git") is None:
        missing(
            "git is not installed: run scripts/ensure-git (the guard's tests commit in a "
            "real repository)"
        )
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MAESTRO_"))}
    return {
        **env,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "MAESTRO_URL": server.base_url,
    }


@pytest.fixture
def repo(git_env: dict[str, str], tmp_path: Path) -> Repository:
    path = tmp_path / "repo"
    path.mkdir()
    made = Repository(path.resolve(), git_env)
    for args in (
        ("init", "-q", "-b", "main"),
        ("config", "user.name", "Test Person"),
        ("config", "user.email", "person@example.com"),
    ):
        assert made.git(*args).returncode == 0
    assert made.commit("README.md").returncode == 0  # no hook yet
    return made


@pytest.fixture
def project(server: LiveServer, repo: Repository) -> dict[str, Any]:
    made = server.http.post("/api/projects", json={"name": "Web app"})
    assert made.status_code == 201
    created: dict[str, Any] = made.json()
    return created


def reserve(server: LiveServer, session_id: str, *paths: str, shared: bool = False) -> list[Any]:
    made = server.http.post(
        f"/api/sessions/{session_id}/reservations", json={"paths": list(paths), "shared": shared}
    )
    assert made.status_code == 201, made.text
    held: list[Any] = made.json()
    return held


def install(
    run: Run, repo: Repository, *args: str, ok: bool = True, env: dict[str, str] | None = None
) -> Any:
    return run("guard", "install", "--dir", str(repo.path), *args, ok=ok, env=env)


def test_a_commit_touching_anothers_files_is_refused_and_one_beside_them_goes_through(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    installed = install(run, repo)
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    assert f"✓ Pre-commit guard installed: {hook} (runs {sys.executable})" in installed.stdout
    assert hook.stat().st_mode & stat.S_IXUSR
    holder = new_session(server.http, project["id"], "api work", agent="claude-code")["id"]
    [held] = reserve(server, holder, "src/api/**")
    start = repo.head()

    refused = repo.commit("src/api/x.py")
    assert refused.returncode != 0
    assert repo.head() == start  # not committed
    said = refused.stderr
    assert "1 file of this commit is held by another session" in said
    assert (
        f"src/api/x.py: src/api/** held exclusively by “api work” (claude-code, {holder})" in said
    )
    assert "until 20" in said  # its expiry, as a date and time
    assert "git commit --no-verify, or MAESTRO_GUARD=off git commit" in said
    assert "export MAESTRO_SESSION=<its id>" in said

    beside = repo.commit("docs/x.md")
    assert beside.returncode == 0, beside.stderr
    assert beside.stderr == ""  # nothing to say

    # The holder's own commit: its session is exported, as an agent does.
    own = repo.commit("src/api/x.py", env={"MAESTRO_SESSION": holder})
    assert own.returncode == 0, own.stderr
    assert held["pattern"] == "src/api/**"


def test_bypasses_and_a_server_that_is_down(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    install(run, repo)
    holder = new_session(server.http, project["id"], "api work")["id"]
    reserve(server, holder, "src/api/")
    assert repo.commit("src/api/a.py").returncode != 0
    skipped = repo.commit("src/api/a.py", flags=("--no-verify",))
    assert skipped.returncode == 0, skipped.stderr
    off = repo.commit("src/api/b.py", env={"MAESTRO_GUARD": "off"})
    assert off.returncode == 0, off.stderr
    assert repo.commit("src/api/c.py", env={"MAESTRO_GUARD": "on"}).returncode != 0

    nobody = f"http://127.0.0.1:{free_port()}"
    down = repo.commit("src/api/c.py", env={"MAESTRO_URL": nobody})
    assert down.returncode == 0, down.stderr
    assert f"could not check the files: cannot reach the Maestro server at {nobody}" in down.stderr
    assert "the commit is not blocked" in down.stderr

    # The Python that installed the hook is gone (its virtualenv deleted): said, not blocked.
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    gone = repo.path.parent / "deleted-venv" / "bin" / "python"
    hook.write_text(hook.read_text().replace(sys.executable, str(gone)))
    unguarded = repo.commit("src/api/d.py")
    assert unguarded.returncode == 0, unguarded.stderr
    assert f"Maestro is no longer installed for {gone}" in unguarded.stderr


def test_a_rename_is_checked_on_both_sides_and_shared_files_are_a_note(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    assert repo.commit("old/a.py", "old/b.py").returncode == 0
    install(run, repo)
    holder = new_session(server.http, project["id"], "mover")["id"]
    reserve(server, holder, "old/a.py")
    sharer = new_session(server.http, project["id"], "docs", agent="codex")["id"]
    reserve(server, sharer, "docs/*.md", shared=True)

    (repo.path / "new").mkdir()
    assert repo.git("mv", "old/a.py", "new/a.py").returncode == 0
    moved = repo.git("commit", "-m", "move")
    assert moved.returncode != 0  # the old side is held
    assert "old/a.py: old/a.py held exclusively by “mover”" in moved.stderr
    assert repo.git("reset", "-q", "--hard").returncode == 0

    noted = repo.commit("docs/guide.md")
    assert noted.returncode == 0, noted.stderr
    assert "files of this commit that other sessions share:" in noted.stderr
    assert f"docs/guide.md: docs/*.md held shared by “docs” (codex, {sharer})" in noted.stderr


def test_the_project_is_the_one_whose_working_dir_is_the_repository(
    run: Run, server: LiveServer, repo: Repository, tmp_path: Path
) -> None:
    """Found through a symlink to the repository, among several projects, with none named;
    the hook then checks against that project, not another."""
    link = tmp_path / "link-to-repo"
    link.symlink_to(repo.path)
    http = server.http
    http.post("/api/projects", json={"name": "Elsewhere", "workingDir": str(tmp_path)})
    here = http.post("/api/projects", json={"name": "Here", "workingDir": str(link)}).json()
    install(run, repo)
    reserve(server, new_session(server.http, here["id"], "api work")["id"], "src/")
    refused = repo.commit("src/x.py")
    assert refused.returncode != 0
    assert "held exclusively by “api work”" in refused.stderr
    # Named in the hook, another project (without reservations) is what it checks.
    other = http.post("/api/projects", json={"name": "Third"}).json()
    install(run, repo, "--project", other["id"])
    assert repo.commit("src/x.py").returncode == 0


def test_hooks_go_where_git_looks_for_them_in_a_worktree_and_with_core_hooks_path(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any], tmp_path: Path
) -> None:
    reserve(server, new_session(server.http, project["id"], "api work")["id"], "src/**")
    # Not the only project: the worktree finds its own by the main working tree.
    http = server.http
    http.post("/api/projects", json={"name": "Other"})
    moved = http.patch(f"/api/projects/{project['id']}", json={"workingDir": str(repo.path)})
    assert moved.status_code == 200
    tree = tmp_path / "feature"
    assert repo.git("worktree", "add", "-q", "-b", "feature", str(tree)).returncode == 0
    feature = Repository(tree.resolve(), repo.env)
    install(run, feature)
    assert (repo.path / ".git" / "hooks" / "pre-commit").exists()  # the repository's
    assert feature.commit("src/y.py").returncode != 0

    assert repo.git("config", "core.hooksPath", ".githooks").returncode == 0
    install(run, repo)
    assert MARKER in (repo.path / ".githooks" / "pre-commit").read_text()
    assert repo.commit("src/z.py").returncode != 0


def test_install_keeps_a_hook_that_is_not_ours_unless_forced_and_uninstall_restores_it(
    run: Run, repo: Repository
) -> None:
    hooks = repo.path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    theirs = hooks / "pre-commit"
    theirs.write_text("#!/bin/sh\necho their hook >&2\nexit 0\n")
    theirs.chmod(0o755)
    refused = install(run, repo, ok=False)
    assert refused.exit_code == 5
    assert "is a pre-commit hook that is not Maestro's: left as it is" in refused.stderr
    assert "--force replaces it" in refused.stderr
    assert "their hook" in theirs.read_text()

    forced = install(run, repo, "--force")
    assert f"kept as {hooks / BACKUP}" in forced.stdout
    assert MARKER in theirs.read_text()
    assert "their hook" in (hooks / BACKUP).read_text()
    again = install(run, repo)  # ours: replaced without --force
    assert "Pre-commit guard updated" in again.stdout
    assert not (hooks / f"{BACKUP}.1").exists()

    removed = run("guard", "uninstall", "--dir", str(repo.path))
    assert f"{BACKUP} is the hook again" in removed.stdout
    assert "their hook" in theirs.read_text()
    assert not (hooks / BACKUP).exists()
    kept = run("guard", "uninstall", "--dir", str(repo.path), ok=False)
    assert kept.exit_code == 5
    theirs.unlink()
    assert "nothing to remove" in run("guard", "uninstall", "--dir", str(repo.path)).stdout


def test_the_hook_holds_no_secret_and_reads_the_token_at_commit_time(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    http = server.http
    admin = http.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"}).json()["secret"]
    reader = http.post(
        TOKENS_PATH,
        json={"name": "guard", "scope": "read"},
        headers={AUTHORIZATION_HEADER: bearer(admin)},
    ).json()["secret"]
    headers = {AUTHORIZATION_HEADER: bearer(admin)}
    session = http.post(
        "/api/sessions", json={"projectId": project["id"], "name": "api"}, headers=headers
    ).json()
    http.post(
        f"/api/sessions/{session['id']}/reservations", json={"paths": ["src/"]}, headers=headers
    )
    install(run, repo, env={"MAESTRO_TOKEN": admin})
    assert admin not in (repo.path / ".git" / "hooks" / "pre-commit").read_text()

    # No token: the server refuses the check (a 4xx), which is no outage: the commit stops,
    # saying what to fix and how to commit anyway.
    start = repo.head()
    unknown = repo.commit("src/a.py")
    assert unknown.returncode != 0
    assert repo.head() == start
    assert (
        "maestro guard: cannot check the files: a valid bearer token is required; the commit "
        "is stopped" in unknown.stderr
    )
    assert "set MAESTRO_TOKEN; to commit anyway: git commit --no-verify" in unknown.stderr
    # So does a project named that the server does not know.
    nowhere = repo.commit("src/a.py", env={"MAESTRO_TOKEN": reader, "MAESTRO_PROJECT": "Nope"})
    assert nowhere.returncode != 0
    assert "cannot check the files: project 'Nope' not found" in nowhere.stderr
    refused = repo.commit("src/a.py", env={"MAESTRO_TOKEN": reader})  # a read token will do
    assert refused.returncode != 0
    assert "held exclusively by “api”" in refused.stderr


def test_check_by_hand_with_paths_from_a_subdirectory_and_as_json(
    run: Run,
    server: LiveServer,
    repo: Repository,
    project: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run in-process: the paths named are read from the current directory; a commit of
    many files is asked about in several requests (bounds made small here), put together."""
    holder = new_session(server.http, project["id"], "api work")["id"]
    reserve(server, holder, "src/api/**")
    (repo.path / "src" / "api").mkdir(parents=True)
    monkeypatch.chdir(repo.path / "src")
    monkeypatch.setattr(guard, "PATHS_PER_REQUEST", 2)
    files = ["api/a.py", "web/b.py", "api/c.py", "api/d.py", "e.md"]
    found = run("guard", "check", *files, "--json", ok=False)
    assert found.exit_code == 1
    result = as_json(found)
    assert result["projectId"] == project["id"]
    assert [c["path"] for c in result["conflicts"]] == [
        "src/api/a.py",
        "src/api/c.py",
        "src/api/d.py",
    ]
    mine = run("guard", "check", *files, env={"MAESTRO_SESSION": holder})
    assert mine.stderr == ""
    outside = run("guard", "check", "../../elsewhere.py", ok=False)
    assert outside.exit_code == 4
    assert "is not in the repository" in outside.stderr
    off = run("guard", "check", "api/a.py", env={"MAESTRO_GUARD": "OFF"})
    assert "nothing checked" in off.stderr


def test_a_commit_too_large_for_one_request_is_asked_about_in_halves(
    run: Run,
    server: LiveServer,
    repo: Repository,
    project: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server refuses a check that is more work than one request may ask (413): the
    guard asks the same in halves, and never lets a large commit through unchecked."""
    holder = new_session(server.http, project["id"], "api work")["id"]
    reserve(server, holder, "src/**")
    monkeypatch.chdir(repo.path)
    # The server runs in this process: its bound made small, two paths a request at most.
    monkeypatch.setattr(reservations, "PATH_CHECK_MATCHES_MAX", 2)
    files = [f"src/{name}.py" for name in "abcde"]
    found = run("guard", "check", *files, "--json", ok=False)
    assert found.exit_code == 1
    assert [c["path"] for c in as_json(found)["conflicts"]] == files


@pytest.fixture(autouse=True)
def _no_stray_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process runs read MAESTRO_* from the environment, and their git reads its
    configuration: none of the suite user's."""
    for name in [k for k in os.environ if k.startswith(("MAESTRO_", "GIT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)


def test_a_repositorys_own_modules_do_not_stand_in_for_maestros_dependencies(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    """git runs the hook in the repository's top level: its click.py or rich/ must not be
    what Maestro imports (``python -P``)."""
    (repo.path / "rich").mkdir()
    for module in ("click.py", "rich/__init__.py", "maestro_mcp.py"):
        (repo.path / module).write_text("raise SystemExit('the repository's own module')\n")
    assert repo.git("add", ".").returncode == 0
    assert repo.git("commit", "-q", "-m", "modules").returncode == 0
    install(run, repo)
    reserve(server, new_session(server.http, project["id"], "api work")["id"], "src/")

    beside = repo.commit("docs/x.md")
    assert beside.returncode == 0, beside.stderr
    assert beside.stderr == ""
    refused = repo.commit("src/x.py")
    assert refused.returncode != 0
    assert "src/x.py: src/** held exclusively by “api work”" in refused.stderr


def test_names_and_patterns_are_shown_as_written_never_read_as_markup(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    install(run, repo)
    holder = new_session(server.http, project["id"], "other [/] agent [bold]x")["id"]
    reserve(server, holder, "src/[abc].py", "lib/[red]/", "notes/")
    sharer = new_session(server.http, project["id"], "[/]docs")["id"]
    reserve(server, sharer, "docs/[x]*.md", shared=True)

    refused = repo.commit("src/a.py", "lib/r/b.py", "notes/[draft].md")
    assert refused.returncode != 0
    said = refused.stderr
    assert "3 files of this commit are held by another session" in said
    assert "src/a.py: src/[abc].py held exclusively by “other [/] agent [bold]x”" in said
    assert "lib/r/b.py: lib/[red]/** held exclusively by “other [/] agent [bold]x”" in said
    assert "notes/[draft].md: notes/** held exclusively by" in said
    noted = repo.commit("docs/xy.md")
    assert noted.returncode == 0, noted.stderr
    assert "docs/xy.md: docs/[x]*.md held shared by “[/]docs”" in noted.stderr


def test_a_server_that_does_not_answer_in_time_is_asked_once_and_said_so(
    run: Run, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that takes the connection and never answers: the check waits its timeout
    once (the request is not sent again), says so, and lets the commit through."""
    monkeypatch.setattr(guard, "GUARD_TIMEOUT", 0.5)
    monkeypatch.chdir(repo.path)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel takes connections; nothing ever answers them
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        slow = run("guard", "check", "src/a.py", env={"MAESTRO_URL": url})
        assert (
            f"could not check the files: the Maestro server at {url} did not answer in time; "
            "the commit is not blocked" in slow.stderr
        )
        assert "cannot reach" not in slow.stderr
        silent.setblocking(False)
        taken = []
        with contextlib.suppress(BlockingIOError):
            while True:
                taken.append(silent.accept()[0])
        for connection in taken:
            connection.close()
        assert len(taken) == 1  # asked once


def test_a_repository_that_is_no_projects_is_not_checked_against_another(
    run: Run, server: LiveServer, repo: Repository, tmp_path: Path
) -> None:
    """The only project works in another repository: this one's commits are not checked
    against its reservations (a warning says so); without a workingDir it would be."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    only = server.http.post(
        "/api/projects", json={"name": "Elsewhere", "workingDir": str(elsewhere)}
    ).json()
    reserve(server, new_session(server.http, only["id"], "api work")["id"], "src/")
    install(run, repo)

    unchecked = repo.commit("src/x.py")
    assert unchecked.returncode == 0, unchecked.stderr
    assert (
        f"maestro guard: the only project, Elsewhere ({only['id']}), works in {elsewhere}, "
        "not in this repository: the files were not checked; the commit is not blocked"
    ) in unchecked.stderr
    assert "--project or MAESTRO_PROJECT" in unchecked.stderr

    cleared = server.http.patch(f"/api/projects/{only['id']}", json={"workingDir": None})
    assert cleared.status_code == 200, cleared.text
    assert repo.commit("src/x.py").returncode != 0  # now it is this repository's too


def test_holders_are_named_best_effort_after_the_check(
    run: Run,
    server: LiveServer,
    repo: Repository,
    project: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The holders' sessions are read one by one, only theirs; when they cannot be read
    the conflicts are still conflicts, their holders shown by id."""
    holder = new_session(server.http, project["id"], "api work")["id"]
    reserve(server, holder, "src/")
    for n in range(3):  # sessions that hold nothing are not read
        new_session(server.http, project["id"], f"idle {n}")["id"]
    monkeypatch.chdir(repo.path)
    asked: list[str] = []
    request = MaestroClient.request

    def recorded(self: MaestroClient, method: str, path: str, **kwargs: Any) -> Any:
        asked.append(f"{method} {path}")
        return request(self, method, path, **kwargs)

    monkeypatch.setattr(MaestroClient, "request", recorded)
    named = run("guard", "check", "src/a.py", ok=False)
    assert named.exit_code == 1
    assert "src/a.py: src/** held exclusively by “api work”" in named.stderr
    assert [a for a in asked if "/api/sessions" in a] == [f"GET /api/sessions/{holder}"]

    def failing(self: MaestroClient, method: str, path: str, **kwargs: Any) -> Any:
        if path.startswith("/api/sessions"):
            raise unreachable(self.base_url)
        return request(self, method, path, **kwargs)

    monkeypatch.setattr(MaestroClient, "request", failing)
    unnamed = run("guard", "check", "src/a.py", ok=False)
    assert unnamed.exit_code == 1
    assert f"src/a.py: src/** held exclusively by {holder} until " in unnamed.stderr
    assert "could not check" not in unnamed.stderr


def test_the_hook_it_replaced_still_runs_first_and_its_failure_stops_the_commit(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    hooks = repo.path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    theirs = hooks / "pre-commit"
    theirs.write_text('#!/bin/sh\necho "their hook ran: $(git diff --cached --name-only)" >&2\n'
                      'test -z "$THEIRS_FAIL"\n')  # fmt: skip
    theirs.chmod(0o755)
    install(run, repo, "--force")
    reserve(server, new_session(server.http, project["id"], "api work")["id"], "src/")

    beside = repo.commit("docs/a.md")
    assert beside.returncode == 0, beside.stderr
    assert "their hook ran: docs/a.md" in beside.stderr
    start = repo.head()
    failed = repo.commit("docs/b.md", env={"THEIRS_FAIL": "1"})
    assert failed.returncode != 0
    assert repo.head() == start
    assert (
        f"maestro guard: the pre-commit hook kept as .git/hooks/{BACKUP} failed (exit status 1): "
        "the commit is stopped"
    ) in failed.stderr
    # MAESTRO_GUARD=off skips Maestro's check, not theirs; ours still runs after theirs.
    off = repo.commit("docs/b.md", env={"THEIRS_FAIL": "1", "MAESTRO_GUARD": "off"})
    assert off.returncode != 0
    held = repo.commit("src/a.py")
    assert held.returncode != 0
    assert "their hook ran: src/a.py" in held.stderr
    assert "held exclusively by “api work”" in held.stderr
    # Not executable: git would not run it, nor does ours.
    (hooks / BACKUP).chmod(0o644)
    quiet = repo.commit("docs/c.md", env={"THEIRS_FAIL": "1"})
    assert quiet.returncode == 0, quiet.stderr
    assert "their hook" not in quiet.stderr


def test_a_merge_is_checked_for_the_persons_resolution_only(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    """A conflicted merge, resolved and committed: what the other branch brings in (held by
    someone, committed there already) is not checked; the files resolved by hand are."""
    assert repo.commit("src/shared.py", "src/resolved.py").returncode == 0
    assert repo.git("checkout", "-q", "-b", "feature").returncode == 0
    for branch in ("feature", "main"):
        if branch == "main":
            assert repo.git("checkout", "-q", "main").returncode == 0
        for name in ("shared.py", "resolved.py"):
            (repo.path / "src" / name).write_text(f"{branch}'s side\n")
        assert repo.commit(f"src/held/{branch}.py", flags=("-a",)).returncode == 0
    install(run, repo)
    holder = new_session(server.http, project["id"], "api work")["id"]
    reserve(server, holder, "src/held/", "src/shared.py")

    def merged() -> "subprocess.CompletedProcess[str]":
        conflicted = repo.git("merge", "feature")
        assert conflicted.returncode != 0
        assert "CONFLICT" in conflicted.stdout
        # Taken as the other side has it: it differs from main's, not from feature's.
        assert repo.git("checkout", "--theirs", "--", "src/shared.py").returncode == 0
        (repo.path / "src" / "resolved.py").write_text("both sides, by hand\n")
        assert repo.git("add", "src").returncode == 0
        return repo.git("commit", "--no-edit")

    # src/shared.py and src/held/feature.py are held, and come from feature as they are there:
    # neither is asked about; src/resolved.py, resolved by hand, is (nobody holds it yet).
    done = merged()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(repo.git("rev-list", "--parents", "-n1", "HEAD").stdout.split()) == 3

    # The resolution itself touches a held file: refused.
    assert repo.git("reset", "-q", "--hard", "HEAD~1").returncode == 0
    reserve(server, holder, "src/resolved.py")
    refused = merged()
    assert refused.returncode != 0
    assert "1 file of this commit is held by another session" in refused.stderr
    assert "src/resolved.py: src/resolved.py held exclusively by “api work”" in refused.stderr
    assert "src/held/feature.py" not in refused.stderr
    repo.git("merge", "--abort")


def test_commit_all_and_commit_paths_check_the_index_git_gives_the_hook(
    run: Run, server: LiveServer, repo: Repository, project: dict[str, Any]
) -> None:
    """``git commit -a`` and ``git commit PATH`` commit from an index of their own
    (GIT_INDEX_FILE): that one is what is checked."""
    assert repo.commit("src/api/x.py", "docs/y.md").returncode == 0
    install(run, repo)
    reserve(server, new_session(server.http, project["id"], "api work")["id"], "src/api/")
    start = repo.head()

    repo.write("src/api/x.py")  # changed, not staged
    everything = repo.git("commit", "-a", "-m", "all")
    assert everything.returncode != 0
    assert "src/api/x.py: src/api/** held exclusively by “api work”" in everything.stderr
    named = repo.git("commit", "-m", "named", "src/api/x.py")
    assert named.returncode != 0
    assert "src/api/x.py: src/api/**" in named.stderr
    assert repo.head() == start

    # Staged, the held file stays out of a commit of another path: that one goes through.
    assert repo.git("add", "src/api/x.py").returncode == 0
    repo.write("docs/y.md")
    other = repo.git("commit", "-m", "docs only", "docs/y.md")
    assert other.returncode == 0, other.stderr
    assert repo.git("diff", "--cached", "--name-only").stdout.split() == ["src/api/x.py"]
