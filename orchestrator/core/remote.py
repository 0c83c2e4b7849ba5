"""`orch sync` (commit what is not yet committed), `orch sync --remote` (exchange with
another clone through a git remote) and `orch git install` (the merge driver)."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from orchestrator.core.project import Project
from orchestrator.errors import OrchError
from orchestrator.gitrepo import GitError, Repo

ATTRIBUTES = "*.md merge=orch\n"
ATTRIBUTES_HEADER = (
    "# orch: merge record files field by field when branches or clones meet\n"
    "# (`orch git install` wrote this; the driver itself is set in .git/config).\n"
)
DRIVER_NAME = "orch record merge (frontmatter by field, body by line)"
# A push refused because the remote moved meanwhile: fetch, merge and push again.
PUSH_ATTEMPTS = 3


def sync(project: Project) -> dict[str, Any]:
    """Index and commit everything changed and not yet committed (outside edits, syncs
    pending in batch mode, files orch does not index such as config.yaml)."""
    syncer = project.syncer
    before = len(syncer.commits)
    with project.writing("sync") as w:
        syncer.outside(w.db, [], sweep=True)
        pending = len(syncer.load_pending())
    from orchestrator.core.conflicts import list_conflicts

    return {
        "commits": syncer.commits[before:],
        "mode": project.config.commit,
        "pending": pending,
        "conflicts": [c["record_id"] for c in list_conflicts(project)],
    }


def checked_repo(project: Project) -> Repo:
    repo = project.syncer.repo()
    if repo is None:
        raise OrchError("git is not installed: install git to commit and share changes")
    return repo


def driver_command() -> str:
    """How git runs our merge driver: this Python, so the driver finds orch installed."""
    return f"{shlex.quote(sys.executable)} -m orchestrator.merge_driver %O %A %B %P"


def configure_driver(repo: Repo) -> None:
    repo.run("config", "merge.orch.name", DRIVER_NAME)
    repo.run("config", "merge.orch.driver", driver_command())


def install(project: Project) -> dict[str, Any]:
    """Register the merge driver: `.task_orchestrator/.gitattributes` (committed, so
    every clone has it) and the driver command in this clone's git config."""
    with project.writing("git-install") as w:
        repo = checked_repo(project)
        attributes = project.layout.base / ".gitattributes"
        text = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
        changed = "merge=orch" not in text
        if changed:
            if text and not text.endswith("\n"):
                text += "\n"
            w.track([project.layout.rel(attributes)])
            attributes.write_text(text + ATTRIBUTES_HEADER + ATTRIBUTES, encoding="utf-8")
        configure_driver(repo)
    return {
        "attributes": project.layout.rel(attributes),
        "attributes_changed": changed,
        "driver": driver_command(),
        "repository": str(repo.top),
    }


def sync_remote(project: Project, remote: str, branch: str | None = None) -> dict[str, Any]:
    """Commit local changes, fetch `remote`, merge it (record files through the merge
    driver), bring the index up to date, and push."""
    local = sync(project)
    repo = checked_repo(project)
    ensure_driver(project, repo)
    if branch is None:
        done = repo.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        branch = done.stdout.decode().strip()
        if done.returncode != 0 or not branch:
            raise OrchError("HEAD is detached: say which branch to sync with --branch NAME")
    merged = False
    with project.lock():  # no orch write lands in the middle of the merge
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            fetch = repo.run("fetch", "--quiet", remote, branch, check=False)
            if fetch.returncode == 0:
                merged = _merge(repo, remote, branch) or merged
            elif b"couldn't find remote ref" not in fetch.stderr:
                raise GitError(
                    f"git fetch {remote} {branch} failed: {fetch.stderr.decode(errors='replace').strip()}"
                )
            push = repo.run("push", "--quiet", remote, f"HEAD:refs/heads/{branch}", check=False)
            if push.returncode == 0:
                break
            refused = push.stderr.decode(errors="replace").strip()
            if attempt == PUSH_ATTEMPTS or "rejected" not in refused:
                raise GitError(f"git push {remote} {branch} failed: {refused}")
    with project.reading():
        pass  # the index follows the merged files
    from orchestrator.core.conflicts import list_conflicts

    conflicts = [c["record_id"] for c in list_conflicts(project)]
    return {
        **local,
        "remote": remote,
        "branch": branch,
        "merged": merged,
        "head": repo.head()[0],
        "conflicts": conflicts,
    }


def ensure_driver(project: Project, repo: Repo) -> None:
    """A clone whose attributes name the orch driver but whose git config lacks it (a
    fresh clone) gets it, so its merges go through the driver too."""
    attributes = project.layout.base / ".gitattributes"
    if not attributes.exists() or "merge=orch" not in attributes.read_text(encoding="utf-8"):
        return
    if repo.run("config", "--get", "merge.orch.driver", check=False).returncode != 0:
        configure_driver(repo)


def _merge(repo: Repo, remote: str, branch: str) -> bool:
    """Merge what was fetched; True if that changed HEAD."""
    before = repo.head()[0]
    message = f"orch: merge {remote}/{branch}\n\nOrch-Op: merge\n"
    done = repo.run("merge", "--no-edit", "--no-verify", "-m", message, "FETCH_HEAD", check=False)
    if done.returncode != 0:
        said = (done.stdout + done.stderr).decode(errors="replace").strip()
        raise OrchError(
            f"git merge of {remote}/{branch} stopped:\n{said}\n"
            "orch's record files merge field by field; what git could not merge is left for"
            " you: fix it, `git commit`, then run `orch sync --remote` again"
            " (or `git merge --abort` to go back)"
        )
    return repo.head()[0] != before
