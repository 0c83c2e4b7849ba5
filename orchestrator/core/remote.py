"""`orch sync` (commit what is not yet committed), `orch sync --remote` (exchange with
another clone through a git remote) and `orch git install` (the merge driver)."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from orchestrator.core.conflicts import clone_id
from orchestrator.core.project import LOCK_HELD_ENV, Project
from orchestrator.errors import Hint, InvalidInput, OrchError
from orchestrator.git.merge_driver import MERGE_CLONE_ENV
from orchestrator.git.repo import GitError, Repo
from orchestrator.index.broken import broken_files
from orchestrator.store.files import write_atomic

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
    project.follow_views = True
    with project.writing("sync") as w:
        from orchestrator.core.views import regenerate

        # Views left behind by edits that commands indexed without regenerating them.
        regenerate(w, {r[0] for r in w.db.rows("SELECT session_id FROM sessions")})
        w.sync()
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
    return f"{shlex.quote(sys.executable)} -m orchestrator.git.merge_driver %O %A %B %P"


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
            data = (text + ATTRIBUTES_HEADER + ATTRIBUTES).encode()
            write_atomic(attributes, data, within=project.layout.base)
        configure_driver(repo)
    return {
        "attributes": project.layout.rel(attributes),
        "attributes_changed": changed,
        "driver": driver_command(),
        "repository": str(repo.top),
    }


def sync_remote(project: Project, remote: str) -> dict[str, Any]:
    """Commit local changes, fetch the current branch from `remote`, merge it (record
    files through the merge driver), bring the index up to date, and push.

    In a repository that also holds code, only orch's own commits are pushed for the
    user: local commits touching anything else stop it before the push.

    `project.progress` is told each stage, and a cancel is honoured until the merge:
    before the local commit nothing is written; after it, what was committed is what any
    next command commits first. From the merge on, the exchange runs to its end (a merge
    or a push cannot be taken back): its end is reported, never checked."""
    repo = checked_repo(project)
    checked_remote(repo, remote)
    progress = project.progress
    progress.step(0, 3, "committing what is not yet committed")
    local = sync(project)
    ensure_driver(project, repo)
    done = repo.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
    branch = done.stdout.decode().strip()
    if done.returncode != 0 or not branch:
        raise OrchError("HEAD is detached: check out the branch to sync, then run this again")
    merged = False
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        if attempt == 1:
            progress.step(1, 3, f"fetching {remote}/{branch}")
        # The network outside the lock: orch writers keep working meanwhile.
        fetch = repo.run("fetch", "--quiet", "--", remote, branch, check=False)
        found = fetch.returncode == 0
        if not found and b"couldn't find remote ref" not in fetch.stderr:
            said = fetch.stderr.decode(errors="replace").strip()
            raise GitError(f"git fetch {remote} {branch} failed: {said}")
        _refuse_other_commits(project, repo, remote, branch, "FETCH_HEAD" if found else None)
        if attempt == 1:
            progress.step(2, 3, f"merging {remote}/{branch} and pushing")
        if found:
            try:
                with project.lock():  # no orch write lands in the middle of the merge
                    merged = _merge(project, repo, remote, branch) or merged
            except _MergeRefused as stopped:  # named outside the lock: reading takes it
                raise _blocked(project, stopped, remote, branch) from None
        push = repo.run("push", "--quiet", "--", remote, f"HEAD:refs/heads/{branch}", check=False)
        if push.returncode == 0:
            break
        refused = push.stderr.decode(errors="replace").strip()
        if attempt == PUSH_ATTEMPTS or "rejected" not in refused:
            raise GitError(f"git push {remote} {branch} failed: {refused}")
    progress.report(3, 3, f"{'merged and ' if merged else ''}pushed to {remote}/{branch}")
    with project.reading():
        pass  # the index follows the merged files
    from orchestrator.core.conflicts import list_conflicts

    return {
        **local,
        "remote": remote,
        "branch": branch,
        "merged": merged,
        "head": repo.head()[0],
        "conflicts": [c["record_id"] for c in list_conflicts(project)],
    }


def checked_remote(repo: Repo, remote: str) -> None:
    """Refuse a remote that is not one of the repository's own (`git remote` lists them):
    git takes a name starting with `-` for an option (`--upload-pack=...` runs a command),
    and a URL or path would sync with a place the user never set up."""
    if remote.startswith("-"):
        raise InvalidInput(
            f"{remote!r} is not a remote name (a name never starts with '-'); give one of"
            " the repository's remotes (`git remote` lists them)"
        )
    names = repo.out("remote").split()
    if remote not in names:
        listed = ", ".join(names) if names else "none yet"
        raise InvalidInput(
            f"cannot git fetch {remote}: it is not a remote of this repository (its remotes:"
            f" {listed}); add it with `git remote add NAME URL`, or give one of those"
        )


def _refuse_other_commits(
    project: Project, repo: Repo, remote: str, branch: str, fetched: str | None
) -> None:
    """In a repository that also holds other work, stop before pushing local commits
    that touch more than .task_orchestrator/: pushing code is the user's call. Says what
    to do: push them, after taking in what the remote has that this branch has not (a
    push would be refused until then)."""
    prefix = project.syncer.prefix
    if prefix == ".":
        return  # .task_orchestrator/ is a repository of its own
    since = [f"^{fetched}"] if fetched else ["--not", "--remotes"]
    done = repo.run(
        "rev-list", "HEAD", *since, "--", ".", f":(exclude){prefix}", check=False, literal=False
    )
    others = done.stdout.decode().split()
    if not others:
        return
    behind = len(repo.out("rev-list", f"HEAD..{fetched}").split()) if fetched else 0
    what = (
        f"{len(others)} local commit(s) not on {remote}/{branch} change files outside"
        f" {prefix}/ (e.g. {others[0][:9]}), and orch pushes only its own work"
    )
    if behind:
        todo = (
            f"{remote}/{branch} also has {behind} commit(s) this branch has not, so a push"
            f" would be refused: first merge them in (`git pull --no-rebase {remote} {branch}`),"
            f" then push your commits (`git push {remote} HEAD:{branch}`), then sync with the"
            " remote again"
        )
    else:
        todo = (
            f"push them yourself (`git push {remote} HEAD:{branch}`), then sync with the"
            " remote again"
        )
    raise OrchError(f"{what}: {todo}", hint=Hint("sync", {"remote": remote}))


def ensure_driver(project: Project, repo: Repo) -> None:
    """A clone whose attributes name the orch driver but whose git config lacks it (a
    fresh clone) gets it, so its merges go through the driver too."""
    attributes = project.layout.base / ".gitattributes"
    if not attributes.exists() or "merge=orch" not in attributes.read_text(encoding="utf-8"):
        return
    if repo.run("config", "--get", "merge.orch.driver", check=False).returncode != 0:
        configure_driver(repo)


def _merge(project: Project, repo: Repo, remote: str, branch: str) -> bool:
    """Merge what was fetched; True if that changed HEAD. Hooks it runs that call orch
    find the lock held for them (LOCK_HELD_ENV); the merge driver finds this clone's id
    (MERGE_CLONE_ENV), which the conflicts it records name as ours."""
    before = repo.head()[0]
    message = f"orch: merge {remote}/{branch}\n\nOrch-Op: merge\n"
    env = {LOCK_HELD_ENV: str(project.root), MERGE_CLONE_ENV: clone_id(project, create=True) or ""}
    done = repo.run(
        "merge", "--no-edit", "--no-verify", "-m", message, "FETCH_HEAD", env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        said = (done.stdout + done.stderr).decode(errors="replace").strip()
        if repo.operation() is None:  # git refused to start: nothing to end or commit
            raise _MergeRefused(said, _blocking(repo))
        raise OrchError(
            f"git merge of {remote}/{branch} stopped:\n{said}\n"
            "orch's record files merge field by field; what git could not merge is left for"
            " you: fix it and `git commit` (or `git merge --abort` to go back), then sync"
            " with the remote again",
            hint=Hint("sync", {"remote": remote}),
        )
    return repo.head()[0] != before


class _MergeRefused(Exception):
    """git would not start the merge; what it said, and the files in its way."""

    def __init__(self, said: str, blocking: list[str]):
        super().__init__(said)
        self.said = said
        self.blocking = blocking


def _blocking(repo: Repo) -> list[str]:
    """Files with changes not committed (in the work tree or git's index) that the
    fetched commits change too: git refuses to start a merge that would overwrite them.
    Paths as the repository names them."""
    changed = repo.dirty(".")
    incoming = repo.run("diff", "--name-only", "-z", "HEAD...FETCH_HEAD", check=False)
    return sorted(p for p in incoming.stdout.decode().split("\0") if p and p in changed)


def _blocked(project: Project, refused: _MergeRefused, remote: str, branch: str) -> OrchError:
    """Why git did not start the merge, in what to do: a record file in the way is one
    orch left uncommitted because it is broken (git/broken.py), so it is to be fixed
    (the next sync commits it), never committed by hand as it is."""
    syncer = project.syncer
    ours = [syncer.from_git(p) for p in refused.blocking if _inside(syncer.prefix, p)]
    with project.reading(names_broken=True) as db:
        problems = broken_files(db, ours) if ours else []
    broken = {syncer.to_git(p.path) for p in problems}
    others = [p for p in refused.blocking if p not in broken]
    head = f"git did not start the merge of {remote}/{branch}"
    hint = Hint("sync", {"remote": remote})
    if not refused.blocking:
        return OrchError(f"{head}:\n{refused.said}\nthen sync with the remote again", hint=hint)
    said = [
        f"{head}: it changes files that hold changes of yours not committed, which it would overwrite"
    ]
    todo = []
    if problems:
        said.append("broken record files (orch commits each once it is fixed):")
        said += [f"  {p}" for p in problems]
        todo.append("fix them")
    if others:
        said.append("files with changes not committed:")
        said += [f"  {p}" for p in others]
        todo.append(
            f"commit {'the latter' if problems else 'them'} or set them aside (`git stash`)"
        )
    said.append(f"{', and '.join(todo)}; then sync with the remote again")
    return OrchError("\n".join(said), hint=hint)


def _inside(prefix: str, path: str) -> bool:
    return prefix == "." or path.startswith(prefix + "/")
