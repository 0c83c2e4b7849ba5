"""orch doctor (and --fix) and the git hooks, with real git: broken records never reach
the history, and the index follows checkouts on its own."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.core.hooks import HOOKS
from orchestrator.core.project import Project
from orchestrator.core.sessions import create_session
from orchestrator.core.subtasks import complete_subtask
from orchestrator.core.tasks import add_task
from tests.conftest import git_init
from tests.conftest import orch_in as orch

ROOT = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str, check: bool = True, env=None) -> subprocess.CompletedProcess:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def meta(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository with orch initialised, its merge driver and hooks installed, one
    session with two tasks, everything committed."""
    root = tmp_path / "repo"
    root.mkdir()
    git_init(root)
    git(root, "config", "user.email", "t@example.invalid")
    git(root, "config", "user.name", "t")
    orch(root, "init", "--git-hooks")
    project = Project(root.resolve())
    create_session(project, "Hooks")
    add_task(project, "First")
    add_task(project, "Second")
    assert git(root, "status", "--porcelain").stdout == ""
    return root.resolve()


def task_path(root: Path, title: str) -> Path:
    for path in root.glob(".task_orchestrator/sessions/*/tasks/*.md"):
        if meta(path)["title"] == title:
            return path
    raise AssertionError(title)


def commit(root: Path, *paths: Path, code: int = 0, message: str = "change") -> str:
    git(root, "add", *map(str, paths))
    done = git(root, "commit", "-m", message, check=False)
    assert done.returncode == code, done.stdout + done.stderr
    return done.stderr


# -- doctor ------------------------------------------------------------------------------


def test_doctor_names_every_kind_of_problem_with_its_line(sqlite_project):
    root = sqlite_project.root
    create_session(sqlite_project, "Checked")
    ids = [add_task(sqlite_project, name)["task_id"] for name in ("A", "B", "C", "D")]
    tasks = next(root.glob(".task_orchestrator/sessions/*/tasks"))
    a, b, c, d = (tasks / f"{i}.md" for i in ids)
    a.write_text(
        a.read_text().replace("title: A", f"title: A\ndepends_on:\n- {ids[1]}\n- t-99999999")
    )
    b.write_text(b.read_text().replace("title: B", f"title: B\ndepends_on:\n- {ids[0]}"))
    c.write_text(c.read_text().replace("title: C", "title: C: broken"))
    d.write_text(d.read_text().replace("status: pending", "status: doing")
                 .replace("title: D", "title: D\nlevel: 3\nparent_task_id: t-00000000"))  # fmt: skip
    stray = root / ".task_orchestrator/sessions/s-00000001/tasks"
    stray.mkdir(parents=True)
    (stray / a.name).write_text(a.read_text())
    (root / ".task_orchestrator/roles/broken_roles.yaml").write_text("role: [\n")
    session_md = next(root.glob(".task_orchestrator/sessions/s-*/session.md"))
    session_md.write_text(session_md.read_text().replace("<!-- orch:end groups -->\n", ""))

    done = orch(root, "doctor", code=1)
    out = done.stdout
    assert f"{c.relative_to(root)}:4: YAML error (column 9): mapping values" in out
    assert f"{d.relative_to(root)}:7: status: 'doing' is not one of pending" in out
    assert "level is computed by orch" in out
    assert "parent_task_id names t-00000000, which is not a task of this session" in out
    assert "depends_on names t-99999999" in out
    [cycle] = [line for line in out.splitlines() if "dependency cycle: " in line]
    first, second = sorted(ids[:2])
    assert f"dependency cycle: {first} → {second} → {first}" in cycle  # printed as a path
    assert f"duplicate task_id {ids[0]}" in out
    assert "does not match the session folder (s-00000001)" in out
    assert "broken_roles.yaml:2: YAML error" in out
    assert "session.md:" in out and "session view: region 'groups' begins but never ends" in out
    data = json.loads(orch(root, "doctor", "--json", code=1).stdout)
    assert {p["severity"] for p in data} >= {"error", "warning"}
    assert all({"path", "line", "message", "fix"} <= set(p) for p in data)


def test_doctor_fix_repairs_what_needs_no_decision_in_one_commit(sqlite_project):
    root = sqlite_project.root
    git(root, "config", "user.email", "t@example.invalid")
    session = create_session(sqlite_project, "Fixed")["session_id"]
    first = add_task(sqlite_project, "First")["task_id"]
    second = add_task(sqlite_project, "Second", depends_on=[first])["task_id"]
    complete_subtask(sqlite_project, first, "done", detailed_work="kept", next_action="blocked")
    tasks = root / ".task_orchestrator/sessions" / session / "tasks"
    # A derived field written by hand, and a copy of the session's tasks in a new
    # session (as two clones would make): every id there is claimed twice.
    p2 = tasks / f"{second}.md"
    p2.write_text(p2.read_text().replace("title: Second", "title: Second\nprogress_percentage: 50"))
    # A copy of the session's tasks in another session folder, as two clones could make:
    # every id there is claimed twice, and the copy (the later path) loses.
    other = "s-ffffffff"
    copy = root / ".task_orchestrator/sessions" / other / "tasks"
    copy.mkdir(parents=True)
    (copy.parent / "session.md").write_text(
        f"---\nsession_id: {other}\nname: Copy\nstatus: paused\n---\n"
    )
    for path in (tasks / f"{first}.md", tasks / f"{second}.md"):
        (copy / path.name).write_text(path.read_text().replace(session, other))
    shutil.copytree(tasks.parent / "artifacts", copy.parent / "artifacts")
    session_md = root / ".task_orchestrator/sessions" / session / "session.md"
    text = session_md.read_text()
    session_md.write_text(text.replace("<!-- orch:end overview -->\n", "") + "\nMy notes stay.\n")
    before = len(git(root, "log", "--format=%s").stdout.splitlines())

    done = orch(root, "doctor", "--fix")
    out = done.stdout
    assert "removed progress_percentage (computed by orch)" in out
    assert out.count("renumbered") == 2 and f"1 reference(s) in session {other}" in out
    assert "dropped the markers of broken view regions" in out
    log = git(root, "log", "--format=%s").stdout.splitlines()
    assert len(log) == before + 2 and log[0].startswith("orch: fix ")  # the edits, the fix
    assert "progress_percentage" not in p2.read_text()
    renamed = {meta(p)["title"]: p for p in copy.glob("*.md")}
    assert set(renamed) == {"First", "Second"}
    assert first not in {p.stem for p in renamed.values()} and second not in {
        p.stem for p in renamed.values()}  # fmt: skip
    assert meta(renamed["Second"])["depends_on"] == [renamed["First"].stem]
    assert list((copy.parent / "artifacts" / renamed["First"].stem).glob("*.md"))
    assert meta(tasks / f"{second}.md")["depends_on"] == [first]  # the original untouched
    fixed_md = session_md.read_text()
    assert "My notes stay." in fixed_md and fixed_md.count("<!-- orch:begin overview -->") == 1
    assert fixed_md.count("<!-- orch:end overview -->") == 1
    assert orch(root, "doctor").stdout.strip() == "No problems found."
    assert git(root, "status", "--porcelain").stdout == ""


# -- installing hooks ----------------------------------------------------------------------


def test_install_chains_an_existing_hook_and_uninstall_puts_it_back(tmp_path):
    root = tmp_path / "chain"
    root.mkdir()
    git_init(root)
    hooks = root / "custom-hooks"
    hooks.mkdir()
    git(root, "config", "core.hooksPath", "custom-hooks")
    mine = hooks / "pre-commit"
    mine.write_text('#!/bin/sh\necho mine >> "$(git rev-parse --show-toplevel)/ran.txt"\n')
    mine.chmod(0o755)
    orch(root, "init")
    out = orch(root, "hooks", "install").stdout
    assert str(hooks) in out and "your hook runs first" in out
    assert sorted(p.name for p in hooks.iterdir()) == sorted(
        [*HOOKS, "pre-commit.orch-chained"])  # fmt: skip
    assert not list((root / ".git" / "hooks").glob("post-*[!e]"))  # not in .git/hooks
    again = orch(root, "hooks", "install").stdout  # idempotent
    assert "pre-commit: updated" in again
    (root / "file.txt").write_text("x")
    git(root, "add", "file.txt")
    git(root, "-c", "user.email=t@x", "-c", "user.name=t", "commit", "-qm", "one")
    assert (root / "ran.txt").read_text() == "mine\n"
    out = orch(root, "hooks", "uninstall").stdout
    assert "pre-commit: removed; your own hook is back" in out
    assert sorted(p.name for p in hooks.iterdir()) == ["pre-commit"]
    assert "echo mine" in mine.read_text()


# -- pre-commit ----------------------------------------------------------------------------


def test_a_broken_task_file_is_refused_with_its_line(repo):
    path = task_path(repo, "First")
    path.write_text(path.read_text().replace("title: First", "title: First: broken"))
    said = commit(repo, path, code=1)
    rel = path.relative_to(repo)
    assert f"{rel}:4: YAML error (column 13): mapping values are not allowed" in said
    assert 'must be quoted, e.g. title: "Fix: the parser"' in said
    assert "commit refused: 1 problem(s)" in said and "--no-verify" in said
    assert git(repo, "log", "--format=%s", "-1").stdout.strip() != "change"


def test_a_valid_commit_passes_and_carries_the_refreshed_view(repo):
    path = task_path(repo, "First")
    path.write_text(path.read_text().replace("status: pending", "status: completed"))
    assert git(repo, "config", "merge.orch.driver").stdout.strip()  # init --git-hooks
    assert (repo / ".task_orchestrator/.gitattributes").exists()
    said = commit(repo, path)
    assert "session.md: view refreshed and staged" in said
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert (
        any(p.endswith("/session.md") for p in changed) and str(path.relative_to(repo)) in changed
    )
    shown = git(
        repo,
        "show",
        "HEAD:"
        + str(next(repo.glob(".task_orchestrator/sessions/*/session.md")).relative_to(repo)),
    ).stdout
    assert "- [x] First (Completed)" in shown
    assert git(repo, "status", "--porcelain").stdout == ""


def test_the_staged_version_is_judged_not_the_working_tree(repo):
    path = task_path(repo, "Second")
    good = path.read_text()
    path.write_text(good.replace("status: pending", "status: doing"))
    git(repo, "add", str(path))
    path.write_text(good.replace("status: pending", "status: blocked"))  # fixed, not staged
    said = git(repo, "commit", "-m", "bad staged", check=False)
    assert said.returncode == 1 and "status: 'doing' is not one of" in said.stderr
    git(repo, "add", str(path))  # staged good, working tree broken
    path.write_text(good.replace("title: Second", "title: Second: broken"))
    done = git(repo, "commit", "-m", "good staged", check=False)
    assert done.returncode == 0, done.stderr
    assert "status: blocked" in git(repo, "show", f"HEAD:{path.relative_to(repo)}").stdout


def test_deleting_a_task_others_depend_on_is_refused(repo):
    project = Project(repo)
    first = task_path(repo, "First")
    third = add_task(project, "Third", depends_on=[first.stem])["task_id"]
    git(repo, "rm", "-q", str(first))
    said = git(repo, "commit", "-m", "drop first", check=False)
    assert said.returncode == 1
    assert f"depends_on names {first.stem}" in said.stderr and third in said.stderr


def test_the_index_follows_a_checkout_without_a_reindex(repo):
    path = task_path(repo, "First")
    start = git(repo, "branch", "--show-current").stdout.strip()
    git(repo, "checkout", "-q", "-b", "other")
    path.write_text(path.read_text().replace("title: First", "title: First on other"))
    commit(repo, path)
    said = git(repo, "checkout", start)
    assert "orch: index updated" in said.stderr

    def indexed_title() -> str:  # the index as the hook left it, not refreshed by a read
        index = repo / ".task_orchestrator/.index/index.sqlite"
        with sqlite3.connect(index) as con:
            return con.execute("SELECT title FROM tasks WHERE task_id = ?", [path.stem]).fetchone()[
                0
            ]

    assert indexed_title() == "First"
    git(repo, "checkout", "-q", "other")
    assert indexed_title() == "First on other"
    shown = json.loads(orch(repo, "task", "show", path.stem, "--json").stdout)
    assert shown["title"] == "First on other"


def framework_refuses_a_bad_record_and_passes_a_good_one(
    tmp_path: Path, config: str, env: dict[str, str]
) -> None:
    """The real pre-commit framework, installed in a new project with `config` as its
    .pre-commit-config.yaml, runs orch's check at `git commit`."""
    root = tmp_path / "framework"
    root.mkdir()
    git_init(root)
    orch(root, "init")
    project = Project(root.resolve())
    create_session(project, "Framework")
    add_task(project, "Checked by the framework")
    (root / ".pre-commit-config.yaml").write_text(config)
    env = {**env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    framework = [sys.executable, "-m", "pre_commit"]
    subprocess.run([*framework, "install"], cwd=root, env=env, check=True, capture_output=True)
    git(root, "add", ".pre-commit-config.yaml")
    git(root, "commit", "-qm", "config", env=env)
    path = task_path(root, "Checked by the framework")
    path.write_text(path.read_text().replace("status: pending", "status: someday"))
    git(root, "add", str(path))
    refused = git(root, "commit", "-m", "bad", check=False, env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert "orch doctor (staged .task_orchestrator/ records)" in said and "Failed" in said
    assert "status: 'someday' is not one of" in said
    path.write_text(path.read_text().replace("status: someday", "status: blocked"))
    git(root, "add", str(path))
    passed = git(root, "commit", "-m", "good", check=False, env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout + passed.stderr


def test_the_pre_commit_framework_runs_orchs_check(tmp_path):
    """The hook exactly as .pre-commit-hooks.yaml declares it (name, entry, files,
    options), run by the framework as a local hook of this virtualenv's orch: everything
    but the install, which the slow variant below makes (a wheel of this repository and
    its dependencies in a virtualenv of the framework's, some 20 s)."""
    from pre_commit.clientlib import load_manifest

    [hook] = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))  # valid for the framework
    declared = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    local = {**declared[0], "language": "system"}
    config = yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}, sort_keys=False)
    assert hook["id"] == local["id"] == "orch-doctor"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    framework_refuses_a_bad_record_and_passes_a_good_one(tmp_path, config, env)


@pytest.mark.slow
def test_the_pre_commit_framework_installs_orchs_check_from_the_repository(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("orch is not a git checkout here: nothing for pre-commit to install from")
    rev = git(ROOT, "rev-parse", "HEAD").stdout.strip()
    if "orch-doctor" not in git(ROOT, "show", f"{rev}:.pre-commit-hooks.yaml", check=False).stdout:
        pytest.skip("HEAD has no .pre-commit-hooks.yaml yet")
    config = f"repos:\n  - repo: {ROOT}\n    rev: {rev}\n    hooks:\n      - id: orch-doctor\n"
    framework_refuses_a_bad_record_and_passes_a_good_one(tmp_path, config, dict(os.environ))


def test_a_merge_and_an_amend_bring_the_index_along(repo):
    path = task_path(repo, "Second")
    start = git(repo, "branch", "--show-current").stdout.strip()
    git(repo, "checkout", "-q", "-b", "feature")
    path.write_text(path.read_text().replace("title: Second", "title: Second, merged"))
    commit(repo, path)
    git(repo, "checkout", "-q", start)
    merged = git(repo, "merge", "--ff-only", "feature")
    assert "orch: index updated" in merged.stderr  # post-merge

    def indexed_title() -> str:
        with sqlite3.connect(repo / ".task_orchestrator/.index/index.sqlite") as con:
            return con.execute("SELECT title FROM tasks WHERE task_id = ?", [path.stem]).fetchone()[
                0
            ]

    assert indexed_title() == "Second, merged"
    path.write_text(path.read_text().replace("Second, merged", "Second, amended"))
    git(repo, "add", str(path))
    amended = git(repo, "commit", "--amend", "-m", "amended")
    assert amended.returncode == 0 and indexed_title() == "Second, amended"


# -- what a review of the hooks found ------------------------------------------------------


def test_a_project_in_a_subfolder_and_a_shared_hooks_folder(tmp_path):
    top = tmp_path / "mono repo"
    (top / "my sub").mkdir(parents=True)
    git_init(top)
    (top / "README").write_text("x")
    git(top, "add", "README")
    git(top, "-c", "user.email=t@x", "-c", "user.name=t", "commit", "-qm", "start")
    shared = tmp_path / "shared-hooks"
    git(top, "config", "core.hooksPath", str(shared))
    out = orch(top / "my sub", "init", "--git-hooks").stdout
    assert "Git hooks:" in out
    note = orch(top / "my sub", "hooks", "install").stdout
    assert "other repositories using it run these hooks too" in note
    project = Project((top / "my sub").resolve())
    create_session(project, "Sub")
    path = next((top / "my sub").glob(".task_orchestrator/sessions/*/session.md"))
    task = add_task(project, "In the subfolder")["task_id"]
    tfile = path.parent / "tasks" / f"{task}.md"
    tfile.write_text(tfile.read_text().replace("title: In the subfolder", "title: Bad: one"))
    git(top, "add", "-A")
    refused = git(top, "-c", "user.email=t@x", "-c", "user.name=t", "commit", "-m", "x",
                  check=False)  # fmt: skip
    assert refused.returncode == 1 and "YAML error" in refused.stderr  # from the top folder
    other = tmp_path / "other"
    other.mkdir()
    git_init(other)
    git(other, "config", "core.hooksPath", str(shared))
    (other / "f").write_text("y")
    git(other, "add", "f")
    done = git(other, "-c", "user.email=t@x", "-c", "user.name=t", "commit", "-qm", "y",
               check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr  # another repository is not orch's business


def test_a_linked_worktree_is_checked_too(repo, tmp_path):
    tree = tmp_path / "the worktree"
    git(repo, "worktree", "add", "-q", "-b", "wt", str(tree))
    path = task_path(tree, "Second")
    path.write_text(path.read_text().replace("title: Second", "title: Broken: Second"))
    refused = git(tree, "commit", "-am", "x", check=False)
    assert refused.returncode == 1 and "YAML error (column 14)" in refused.stderr
    path.write_text(path.read_text().replace("title: Broken: Second", "title: Second again"))
    done = git(tree, "commit", "-am", "y", check=False)
    assert done.returncode == 0, done.stderr
    assert "view refreshed and staged" in done.stderr


def test_an_agents_change_survives_a_stale_buffer_saved_before_a_commit(repo):
    project = Project(repo)
    first, second = task_path(repo, "First"), task_path(repo, "Second")
    buffer = first.read_text()  # an editor opened the file
    from orchestrator.core.tasks import update_task

    update_task(project, first.stem, status="in_progress")  # an agent, meanwhile
    first.write_text(buffer.replace("title: First", "title: First, edited"))  # saved stale
    second.write_text(second.read_text().replace("status: pending", "status: blocked"))
    commit(repo, second)  # the hook indexes the stale save, and must not swallow it
    listed = {t["task_id"]: t for t in json.loads(orch(repo, "task", "list", "--json").stdout)}
    assert listed[first.stem]["status"] == "in_progress"  # merged, not reverted
    assert listed[first.stem]["title"] == "First, edited"
    assert git(repo, "status", "--porcelain").stdout == ""  # and committed


def test_a_commit_of_chosen_paths_leaves_the_index_consistent(repo):
    path = task_path(repo, "First")
    path.write_text(path.read_text().replace("status: pending", "status: blocked"))
    done = git(repo, "commit", "-m", "only this", "--", str(path), check=False)
    assert done.returncode == 0, done.stderr
    assert "views left to the next orch command" in done.stderr
    assert " M " not in git(repo, "status", "--porcelain").stdout.replace("MM", "")
    assert "MM" not in git(repo, "status", "--porcelain").stdout
    orch(repo, "status")  # the next command brings the view along, in its own commit
    assert git(repo, "status", "--porcelain").stdout == ""


def test_references_are_judged_against_what_the_commit_holds(repo):
    project = Project(repo)
    first, second = task_path(repo, "First"), task_path(repo, "Second")
    project.syncer.hold = True  # write a task file without committing it (untracked)
    third = add_task(project, "Third, never added")["task_id"]
    first.write_text(
        first.read_text().replace("title: First", f"title: First\ndepends_on:\n- {third}")
    )
    said = commit(repo, first, code=1)
    assert f"depends_on names {third}, which this commit does not hold" in said
    git(repo, "reset", "-q")
    (first.parent / f"{third}.md").unlink()
    first.write_text(
        first.read_text().replace(f"depends_on:\n- {third}", f"depends_on:\n- {second.stem}")
    )
    git(repo, "add", str(first))
    moved = second.read_text()
    second.unlink()  # moved away in the working tree, but still in the commit
    done = git(repo, "commit", "-m", "ok", check=False)
    assert done.returncode == 0, done.stderr
    second.write_text(moved)


def test_a_view_never_shows_what_the_commit_does_not_hold(repo):
    first, second = task_path(repo, "First"), task_path(repo, "Second")
    first.write_text(first.read_text().replace("status: pending", "status: completed"))
    second.write_text(second.read_text().replace("title: Second", "title: Second SECRET"))
    said = commit(repo, first)
    assert "has changes that are not staged: its view is left" in said
    view = next(repo.glob(".task_orchestrator/sessions/*/session.md")).relative_to(repo)
    assert "SECRET" not in git(repo, "show", f"HEAD:{view}").stdout


def test_doctor_fix_renumbers_the_copy_and_every_reference(sqlite_project):
    root = sqlite_project.root
    first_session = create_session(sqlite_project, "A")["session_id"]
    original = add_task(sqlite_project, "Original")["task_id"]
    dependent = add_task(sqlite_project, "Dependent", depends_on=[original])["task_id"]
    path = root / ".task_orchestrator/sessions" / first_session / "tasks" / f"{dependent}.md"
    path.write_text(
        path.read_text().replace(
            "title: Dependent", f"title: Dependent\nrelated_tasks:\n- {original}"
        )
    )
    other = create_session(sqlite_project, "B", switch=True)["session_id"]
    copy_dir = root / ".task_orchestrator/sessions" / other / "tasks"
    copy_dir.mkdir(exist_ok=True)
    src = root / ".task_orchestrator/sessions" / first_session / "tasks" / f"{original}.md"
    (copy_dir / src.name).write_text(src.read_text())  # a copy, its session_id unchanged
    out = orch(root, "doctor", "--fix").stdout
    assert f"sessions/{other}/tasks/{original}.md: task id {original}" in out  # the copy
    assert src.exists() and meta(src)["task_id"] == original  # the original stays
    [renamed] = copy_dir.glob("*.md")
    assert renamed.stem != original and meta(renamed)["session_id"] == other
    assert meta(path)["related_tasks"] == [original] and meta(path)["depends_on"] == [original]


def test_a_dispatching_hook_manager_is_not_renamed(repo):
    hook = Path(git(repo, "rev-parse", "--git-path", "hooks").stdout.strip())
    hook = (repo / hook) if not hook.is_absolute() else hook
    orch(repo, "hooks", "uninstall")
    (hook / "pre-commit").write_text('#!/usr/bin/env sh\n. "$(dirname -- "$0")/_/husky.sh"\n')
    done = orch(repo, "hooks", "install", code=1)
    assert "husky" in done.stderr and "orch hooks run pre-commit" in done.stderr
    assert "husky.sh" in (hook / "pre-commit").read_text()
