"""Creating projects: `orch init` in any directory, and the demo copy of sample_project/."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from orchestrator.config import TEMPLATE
from orchestrator.core.project import Project
from orchestrator.errors import Hint, InvalidInput, OrchError
from orchestrator.layout import MODE_SUFFIXES, ORCH_DIR, checked_root
from orchestrator.resources import shipped
from orchestrator.store.files import real_folder, write_atomic

# What editors and crashed writes leave beside record files: never part of a commit.
ORCH_GITIGNORE = """\
# Editor droppings and unfinished writes beside the records (orch never reads them).
*.swp
*.swo
*~
.#*
\\#*#
*.tmp
.DS_Store
"""


def init_project(root: str | Path) -> tuple[Project, list[str]]:
    """Create .task_orchestrator/ in `root` (ARCHITECTURE.md, "On disk") with the shipped modes in
    roles/. Safe to run again: it adds what is missing and overwrites nothing. Returns the
    project and the paths it created."""
    given = Path(root).expanduser()
    if not given.exists():
        try:
            given.mkdir(parents=True)
        except OSError as e:
            raise OrchError(f"cannot create {given}: {e.strerror}") from None
    root = checked_root(given)
    if ORCH_DIR in root.parts:
        raise InvalidInput(
            f"{root} is inside a {ORCH_DIR}/ folder; create the project in the folder that"
            f" holds {ORCH_DIR}/",
            hint=Hint("init", {"root": str(Path(*root.parts[: root.parts.index(ORCH_DIR)]))}),
        )
    project = Project(root)
    layout = project.layout
    created: list[str] = []
    if not layout.base.is_dir():
        layout.base.mkdir()
        created.append(layout.rel(layout.base) + "/")
    # Below the orchestrator folder, through real folders only (store/files.py).
    for folder in (layout.roles_dir, layout.sessions_dir, layout.archives_dir, layout.exports_dir):
        if not folder.is_dir():
            created.append(layout.rel(folder) + "/")
        real_folder(folder, layout.base)
    ignore = layout.base / ".gitignore"
    files = [(ignore, ORCH_GITIGNORE.encode()), (layout.config_file, TEMPLATE.encode())]
    for source in sorted(shipped("config").iterdir()):
        if source.suffix in MODE_SUFFIXES:
            files.append((layout.roles_dir / source.name, source.read_bytes()))
    for target, data in files:
        if not target.exists():
            write_atomic(target, data, within=layout.base)
            created.append(layout.rel(target))
    # Building the index (with its own .gitignore) finds the new files and commits them.
    project.syncer.outside_op = "init"
    with project.reading():
        pass
    project.syncer.outside_op = "edit"
    return project, created


def make_demo(target: str | Path | None = None) -> tuple[Project, list[str]]:
    """Copy sample_project/ into `target` (a new temporary directory by default), make it
    a git repository with one commit, and return it. Returns the notes worth printing."""
    if target is None:
        directory = Path(tempfile.mkdtemp(prefix="orch-demo-"))
    else:
        directory = Path(target).expanduser()
        if directory.exists() and any(directory.iterdir()):
            raise InvalidInput(
                f"{directory} is not empty; give a new or empty directory for the demo"
            )
    shutil.copytree(
        shipped("sample_project"),
        directory,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".index", "__pycache__"),
    )
    notes = []
    git = shutil.which("git")
    if git is None:
        notes.append("git is not installed: the demo is not a git repository")
    else:

        def run(*args: str) -> None:
            subprocess.run([git, *args], cwd=directory, check=True, capture_output=True)

        run("init", "--quiet")
        run("add", "--all")
        # The demo's own identity, so the commit works on a machine with no git config.
        run(
            "-c",
            "user.name=orch demo",
            "-c",
            "user.email=demo@orch.invalid",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "Demo project copied from orch's sample_project",
        )
    return Project(directory.resolve()), notes
