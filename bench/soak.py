"""Soak: writers, hand editors, a watcher and kills at once; counts what was lost.

    python bench/soak.py [--writers 4] [--mcp 2] [--editors 2] [--ops 40] [--kills 6]
                         [--tasks 500] [--seed 1] [--orch PATH] [--keep] [--no-append]

On a fresh generated project in a temporary directory (a git repository holding
.task_orchestrator/, as in a user's project) it runs at once:

- `--writers` CLI writers: each a process running `--ops` orch commands one after the
  other (`task update --description`, `note learning`, `task add`, `task done` of a task
  it added), each with a value of its own, and logging each command that exited 0;
- `--mcp` MCP writers: each an `orch mcp` server driven through the `mcp` SDK's stdio
  client, making the same four changes with tools, logging each call that was no error;
- `--editors` hand editors: each reads a task file, holds its copy 0-300 ms, and saves it
  back (by rename or in place) with a line of its own added (`hand_eK_N: VALUE` in the
  frontmatter, a field orch keeps), over and over; each shares the tasks the writers
  update, none another's. Each line stays: an editor's later save starts from the file
  as it is then, so a line missing at the end was overwritten by someone else;
- `orch watch`, committing what the editors save;
- `--kills` kills: SIGKILL of a random writer's process group (and its server's), spread
  over the run, the writer restarted after each.

Then one `orch sync`, and every success is looked for in the final files and in the git
history (`git log -p`, whole added lines):
- an update's description: added by exactly one commit (a value overwritten later is
  still in the history);
- an editor's line: in the final file, added by one commit;
- a note: added by one commit, and once in session.md now;
- an added task: one task file with that title now, added by one commit;
- a done: `status: completed` added to that task's file by one commit, and kept.
Lost: a reported success that is not there. Duplicated: one added by more than one
commit (applied twice, or brought back by a revert), reported or not; a file committed
empty (caught half-way through an in-place save) is listed apart, and its lines coming
back are not counted again. Also listed: lock files left behind, files left uncommitted
and files `orch doctor` cannot read at the end. Prints a table and
appends it, with the command, the machine and the code, to bench/RESULTS.md under a
"Reliability" heading. `--orch` runs another installation's orch (default: the one next
to this Python); the MCP client runs in this Python.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

HERE = Path(__file__).resolve().parent
HOLD_S = 0.3  # longest an editor holds its copy before saving it
STOP = "stop"  # the file that tells editors to finish
DEADLINE_S = 60  # for a process to start, stop or die
TOKEN = r"[cme]\d+\.\d+(?:\.\d+)?"  # a value of ours: c(li) m(cp) e(ditor), actor.life.op
NOTE_LINE = re.compile(rf"- \d{{4}}-\d{{2}}-\d{{2}}: ({TOKEN})")
TASK_LINES = {  # a line of a task file -> what it records
    "update": re.compile(f"({TOKEN})"),
    "add": re.compile(f"title: ({TOKEN})"),
    "edit": re.compile(rf"hand_e\d+_\d+: ({TOKEN})"),
}


# -- the actors (each runs as `python soak.py ACTOR CONFIG`) -----------------------------


def pick_op(rng: Random, own: list[str]) -> str:
    roll = rng.random()
    if roll < 0.15 and own:
        return "done"
    if roll < 0.3:
        return "add"
    if roll < 0.45:
        return "note"
    return "update"


def cli_writer(cfg: dict) -> None:
    """Run orch commands; log `begin N` before each and `ok N KIND ...` after each that
    exited 0 (flushed: a kill right after still finds the line written)."""
    rng = Random(f"{cfg['seed']}-{cfg['name']}-{cfg['life']}")
    orch = [cfg["orch"], "--root", cfg["root"]]
    own = list(cfg["own"])
    with open(cfg["log"], "a", buffering=1, encoding="utf-8") as log:
        for n in range(cfg["start"], cfg["ops"]):
            token = f"{cfg['name']}.{cfg['life']}.{n}"
            op = pick_op(rng, own)
            if op == "update":
                task = rng.choice(cfg["pool"])
                args, said = ["task", "update", task, "--description", token], f"{task} {token}"
            elif op == "note":
                args, said = ["note", "learning", token], token
            elif op == "add":
                args, said = ["task", "add", token, "--json"], token
            else:
                task = own.pop(rng.randrange(len(own)))
                args, said = ["task", "done", task], task
            log.write(f"begin {n}\n")
            done = subprocess.run([*orch, *args], capture_output=True, text=True)
            if done.returncode != 0:
                why = (done.stderr.strip().splitlines() or ["?"])[-1]
                log.write(f"fail {n} {op} {why}\n")
                continue
            if op == "add":
                task = json.loads(done.stdout)["task_id"]
                own.append(task)
                said = f"{task} {token}"
            log.write(f"ok {n} {op} {said}\n")


def mcp_writer(cfg: dict) -> None:
    """The same changes through `orch mcp` and the SDK's stdio client."""
    asyncio.run(_mcp_writer(cfg))


async def _mcp_writer(cfg: dict) -> None:
    from mcp import Client, StdioServerParameters

    rng = Random(f"{cfg['seed']}-{cfg['name']}-{cfg['life']}")
    own = list(cfg["own"])
    params = StdioServerParameters(command=cfg["orch"], args=["mcp", "--root", cfg["root"]])
    with open(cfg["log"], "a", buffering=1, encoding="utf-8") as log:
        async with Client(params, read_timeout_seconds=300) as client:
            for n in range(cfg["start"], cfg["ops"]):
                token = f"{cfg['name']}.{cfg['life']}.{n}"
                op = pick_op(rng, own)
                if op == "update":
                    task = rng.choice(cfg["pool"])
                    tool, args = "orchestrator_task_update", {"task_id": task, "description": token}
                    said = f"{task} {token}"
                elif op == "note":
                    tool, args, said = (
                        "orchestrator_note",
                        {"kind": "learning", "text": token},
                        token,
                    )
                elif op == "add":
                    tool, args, said = "orchestrator_task_create", {"title": token}, token
                else:
                    task = own.pop(rng.randrange(len(own)))
                    tool, args = (
                        "orchestrator_task_update",
                        {"task_id": task, "status": "completed"},
                    )
                    said = task
                log.write(f"begin {n}\n")
                result = await client.call_tool(tool, args)
                if result.is_error:
                    text = result.content[0].text if result.content else "?"
                    log.write(f"fail {n} {op} {' '.join(text.split())}\n")
                    continue
                if op == "add":
                    task = result.structured_content["task"]["task_id"]
                    own.append(task)
                    said = f"{task} {token}"
                log.write(f"ok {n} {op} {said}\n")


def editor(cfg: dict) -> None:
    """A person with an editor: read a task file, hold the copy, save it back with a line
    of their own added; by rename (most editors) or in place (some), until told to stop."""
    rng = Random(f"{cfg['seed']}-{cfg['name']}")
    stop = Path(cfg["stop"])
    n = 0
    with open(cfg["log"], "a", buffering=1, encoding="utf-8") as log:
        while not stop.exists():
            path = Path(rng.choice(cfg["paths"]))
            copy = path.read_text(encoding="utf-8")
            time.sleep(rng.uniform(0, HOLD_S))
            token = f"{cfg['name']}.{n}"
            text = with_line(copy, f"hand_{cfg['name']}_{n}", token)
            if text is None:
                log.write(f"fail {n} edit {path.stem}: no frontmatter in the copy\n")
            else:
                if rng.random() < 0.5:
                    temp = path.with_name(f".{path.name}.{cfg['name']}.tmp")  # git-ignored
                    temp.write_text(text, encoding="utf-8")
                    os.replace(temp, path)
                else:
                    path.write_text(text, encoding="utf-8")
                log.write(f"ok {n} edit {path.stem} {token}\n")
            n += 1
            time.sleep(rng.uniform(0, HOLD_S))


def with_line(text: str, key: str, value: str) -> str | None:
    """`text` with the line `key: value` added at the end of its frontmatter."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip() == "---":
            return "\n".join([*lines[:i], f"{key}: {value}", *lines[i:]])
    return None


ACTORS = {"cli": cli_writer, "mcp": mcp_writer, "editor": editor}


# -- running them --------------------------------------------------------------------------


@dataclass
class Actor:
    kind: str  # cli | mcp | editor
    name: str  # c0, m1, e0: the prefix of its values
    log: Path
    cfg: dict
    life: int = 0
    process: subprocess.Popen | None = None
    finished: bool = False
    crashes: list[str] = field(default_factory=list)

    def start(self) -> None:
        cfg = {**self.cfg, "life": self.life, "log": str(self.log), "name": self.name}
        if self.kind != "editor":
            begun = self.lines("begin")
            cfg["start"] = max((int(b[1]) for b in begun), default=-1) + 1
            cfg["own"] = self.own()
        with self.log.with_suffix(".err").open("a") as err:
            self.process = subprocess.Popen(
                [sys.executable, __file__, self.kind, json.dumps(cfg)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # its own process group: a kill reaches its children
            )

    def lines(self, *kinds: str) -> list[list[str]]:
        try:
            text = self.log.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        whole = text.split("\n")[:-1]  # a line cut by a kill has no newline
        return [line.split(" ") for line in whole if line.split(" ", 1)[0] in kinds]

    def own(self) -> list[str]:
        """The tasks it added and has not reported done."""
        oks = self.lines("ok")
        added = [ok[3] for ok in oks if ok[2] == "add"]
        done = {ok[3] for ok in oks if ok[2] == "done"}
        return [t for t in added if t not in done]

    def groups(self) -> list[int]:
        """Its process groups: its own, and for an MCP writer the server's (the SDK
        starts the server in a session of its own)."""
        pgids = [self.process.pid]
        if self.kind == "mcp":
            pgids += children(self.process.pid)
        return pgids


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie waiting for its reaper aside)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def kill(actor: Actor) -> None:
    """SIGKILL every process of the actor, git children included, and wait for them."""
    pgids = actor.groups()
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    actor.process.wait()
    deadline = time.monotonic() + DEADLINE_S
    while any(group_alive(p) for p in pgids):
        if time.monotonic() > deadline:
            sys.exit(f"{actor.name}: processes outlived SIGKILL")
        time.sleep(0.02)


def make_project(root: Path, tasks: int, seed: int, orch: str) -> tuple[list[str], list[str]]:
    """A generated project in a new git repository, indexed and committed by `orch`;
    returns the ids and files of the pending tasks the writers and editors share."""
    from generate import generate

    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    shape = generate(root, tasks, seed=seed)
    run_orch(orch, root, "sync")
    listed = json.loads(run_orch(orch, root, "task", "list", "--status", "pending", "--json"))
    rows = sorted(listed, key=lambda t: t["task_id"])
    leaves = [t for t in rows if not any(r["parent_task_id"] == t["task_id"] for r in rows)]
    pool = Random(seed).sample(leaves, min(8, len(leaves)))
    if not pool:
        sys.exit(f"no pending task in the active session {shape['active_session']}")
    return [t["task_id"] for t in pool], [str(root / t["file_path"]) for t in pool]


def run_orch(orch: str, root: Path, *args: str) -> str:
    done = subprocess.run([orch, "--root", str(root), *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"orch {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def soak(args: argparse.Namespace, root: Path, work: Path) -> dict:
    """Run everything; returns what the check needs."""
    orch = str(args.orch)
    rng = Random(args.seed)
    pool, paths = make_project(root, args.tasks, args.seed, orch)
    base = {"orch": orch, "root": str(root), "seed": args.seed, "ops": args.ops, "pool": pool}
    writers = [Actor("cli", f"c{i}", work / f"c{i}.log", base) for i in range(args.writers)]
    writers += [Actor("mcp", f"m{i}", work / f"m{i}.log", base) for i in range(args.mcp)]
    editors = [
        Actor("editor", f"e{i}", work / f"e{i}.log",
              {"seed": args.seed, "stop": str(work / STOP), "paths": paths[i :: args.editors]})
        for i in range(args.editors if paths else 0)
    ]  # fmt: skip
    watch_log = (work / "watch.log").open("w")
    watcher = subprocess.Popen([orch, "--root", str(root), "watch"], stdout=watch_log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    started = time.monotonic()
    for actor in [*editors, *writers]:
        actor.start()
    total = len(writers) * args.ops
    marks = [(k + 1) * total / (args.kills + 1) for k in range(args.kills)] if writers else []
    kills, kill_at = 0, None
    while not all(w.finished for w in writers):
        begun = sum(len(w.lines("begin")) for w in writers)
        if kill_at is None and kills < len(marks) and begun >= marks[kills]:
            kill_at = time.monotonic() + rng.uniform(0, 0.5)  # somewhere in a command
        if kill_at is not None and time.monotonic() >= kill_at:
            running = [w for w in writers if not w.finished and w.process.poll() is None]
            if running:
                victim = rng.choice(running)
                kill(victim)
                kills += 1
                victim.life += 1
                victim.start()
            kill_at = None
        for w in writers:
            code = None if w.finished else w.process.poll()
            if code == 0:
                w.finished = True
            elif code is not None:  # a crash, not one of our kills: said, and restarted
                said = w.log.with_suffix(".err").read_text(errors="replace").strip()
                w.crashes.append((said.splitlines() or [f"exit {code}"])[-1])
                w.life += 1
                w.start()
        time.sleep(0.05)
    (work / STOP).touch()
    for e in editors:
        e.process.wait(timeout=DEADLINE_S)
    os.killpg(watcher.pid, signal.SIGINT)  # Ctrl-C
    try:
        watcher.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        os.killpg(watcher.pid, signal.SIGKILL)
        watcher.wait()
    watch_log.close()
    synced = subprocess.run([orch, "--root", str(root), "sync"], capture_output=True, text=True)
    doctor = subprocess.run([orch, "--root", str(root), "doctor", "--json"],
                            capture_output=True, text=True)  # fmt: skip
    try:
        problems = [f"{p['path'].rsplit('/', 1)[-1]}: {p['message']}"
                    for p in json.loads(doctor.stdout) if p.get("severity") == "error"]  # fmt: skip
    except ValueError:
        problems = [f"orch doctor said: {doctor.stderr.strip()[-300:]}"]
    seconds = time.monotonic() - started
    return {"writers": writers, "editors": editors, "kills": kills, "seconds": seconds,
            "watcher_exit": watcher.returncode, "sync": synced, "problems": problems}  # fmt: skip


# -- checking -------------------------------------------------------------------------------


@dataclass
class Commit:
    subject: str
    body: str
    added: dict[str, list[str]]  # path -> whole lines it added
    removed: dict[str, list[str]]  # path -> whole lines it removed
    emptied: set[str]  # files it left empty (not deleted)


def history(root: Path) -> list[Commit]:
    """Every commit touching the sessions, oldest first, with the exact lines it added and
    removed per file, and the files it committed empty."""
    out = subprocess.run(
        ["git", "-c", "core.quotepath=off", "log", "--reverse", "-p", "--no-renames",
         "--no-color", "--format=%x00%s%x01%b%x01", "--", ".task_orchestrator/sessions"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    commits = []
    for chunk in out.split("\0")[1:]:
        subject, body, diff = chunk.split("\x01", 2)
        commit = Commit(subject, body, {}, {}, set())
        path, in_hunk, deleted = None, False, False
        for line in diff.splitlines():
            if line.startswith("diff --git "):
                path, in_hunk, deleted = line.split(" b/", 1)[1], False, False
            elif line.startswith("deleted file mode"):
                deleted = True
            elif line.startswith("@@"):
                in_hunk = True
                if " +0,0 @@" in line and not deleted:
                    commit.emptied.add(path)
            elif in_hunk and path is not None and line[:1] in ("+", "-"):
                side = commit.added if line[0] == "+" else commit.removed
                side.setdefault(path, []).append(line[1:])
        commits.append(commit)
    return commits


def values(path: str, lines: list[str]) -> set[tuple[str, str]]:
    """What lines of a file record: (kind, value) with kind update, add, edit, note or
    done (value: the task id)."""
    found = set()
    if path.endswith("/session.md"):
        return {("note", m[1]) for line in lines if (m := NOTE_LINE.fullmatch(line))}
    if path.split("/")[-2] != "tasks":
        return found
    for line in lines:
        if line == "status: completed":
            found.add(("done", Path(path).stem))
        for kind, pattern in TASK_LINES.items():
            if m := pattern.fullmatch(line):
                found.add((kind, m[1]))
    return found


def check(root: Path, ran: dict) -> dict:
    """Count, per actor kind and operation, what was reported, lost and duplicated."""
    commits = history(root)
    added: Counter = Counter()  # (kind, value) -> commits that added it
    reverted, emptied = [], []
    # Values of a file committed empty (read half-way through an in-place save): the
    # commit after it that brings them back restores them, it does not add them again.
    restorable: set[tuple[str, str]] = set()
    for commit in commits:
        new = set().union(*(values(p, lines) for p, lines in commit.added.items()))
        new_again = {v for v in new if added[v] and v not in restorable}
        restorable -= new
        if any(k == "update" for k, _ in new_again):  # an old description back: undone
            gone = set().union(*(values(p, lines) for p, lines in commit.removed.items()))
            reverted += [f"{v} (by '{commit.subject}')" for k, v in gone if k == "update"]
        added.update(new_again | {v for v in new if not added[v]})
        for path in commit.emptied:
            emptied.append(f"{path.rsplit('/', 1)[-1]} by '{commit.subject}'")
            restorable |= values(path, commit.removed.get(path, []))
    final: Counter = Counter()  # (kind, value) -> files holding it now, lines per file
    files = sorted(root.glob(".task_orchestrator/sessions/*/*/*.md"))
    files += sorted(root.glob(".task_orchestrator/sessions/*/session.md"))
    for path in files:
        rel = str(path.relative_to(root))
        lines = path.read_text(encoding="utf-8").split("\n")
        final.update(Counter(v for line in lines for v in values(rel, [line])))
    conflicted = {
        path
        for c in commits
        if "conflict" in c.body
        for path in re.findall(r"(\.task_orchestrator/\S+\.md)", c.body)
    }
    # What each kind of success needs in the end: in the history, and in the files now.
    kept_now = {"update": False, "add": True, "done": True, "note": True, "edit": True}
    rows: dict[tuple[str, str], Counter] = {}
    lost, failures = [], Counter()
    for actor in [*ran["writers"], *ran["editors"]]:
        who = {"cli": "CLI", "mcp": "MCP", "editor": "editor"}[actor.kind]
        for line in actor.lines("ok", "fail"):
            op = line[2]
            row = rows.setdefault((who, op), Counter())
            if line[0] == "fail":
                row["failed"] += 1
                failures[f"{who} {op}: {' '.join(line[3:])}"] += 1
                continue
            row["reported"] += 1
            value = (op, line[3] if op == "done" else line[-1])
            if added[value] and (final[value] or not kept_now[op]):
                continue
            if op == "edit" and any(line[3] in path for path in conflicted):
                row["kept as a conflict"] += 1
                continue
            row["lost"] += 1
            lost.append(f"{who} {' '.join(line[2:])}")
    twice = [f"{k} {v}: added by {n} commits" for (k, v), n in added.items() if n > 1]
    twice += [f"{k} {v}: {n} times in the files" for (k, v), n in final.items() if n > 1]
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", ".task_orchestrator"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    locks = sorted(str(p.relative_to(root)) for p in root.rglob("*.lock"))
    return {"rows": rows, "lost": lost, "duplicated": twice, "reverted": reverted,
            "uncommitted": dirty, "locks": locks, "conflicts": sorted(conflicted),
            "emptied": emptied,
            "failures": [f"{why} ({n}x)" for why, n in failures.most_common()]}  # fmt: skip


# -- reporting ------------------------------------------------------------------------------


def table(args: argparse.Namespace, ran: dict, found: dict) -> list[str]:
    rows = found["rows"]
    reported = sum(r["reported"] for r in rows.values())
    lines = [
        "| writers | editors | operations | kills | lost | duplicated | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| {args.writers} CLI + {args.mcp} MCP, {args.ops} ops each, and `orch watch`"
        f" | {args.editors} | {reported} | {ran['kills']} | {len(found['lost'])}"
        f" | {len(found['duplicated'])} | {ran['seconds']:.0f} |",
        "",
        "| who | operation | reported | lost | failed (not reported) |",
        "|---|---|---:|---:|---:|",
    ]
    for (who, op), row in sorted(rows.items()):
        kept = (
            f" ({row['kept as a conflict']} kept as a conflict)"
            if row["kept as a conflict"]
            else ""
        )
        lines.append(
            f"| {who} | {op} | {row['reported']} | {row['lost']}{kept} | {row['failed']} |"
        )
    notes = []
    for title, items in (("lost", found["lost"]), ("duplicated", found["duplicated"]),
                         ("updates undone by an old description brought back", found["reverted"]),
                         ("uncommitted after the last sync", found["uncommitted"]),
                         ("lock files left behind", found["locks"]),
                         ("files orch cannot read at the end (orch doctor)", ran["problems"]),
                         ("task files committed empty (caught half-way through an in-place"
                          " save; restored by a later commit, not counted as duplicates)",
                          found["emptied"]),
                         ("operations that failed", found["failures"]),
                         ("files with a conflict noted in a commit", found["conflicts"])):  # fmt: skip
        if items:
            shown = ", ".join(items[:12]) + (f", ... ({len(items)})" if len(items) > 12 else "")
            notes.append(f"- {title}: {shown}")
    crashes = [f"{w.name}: {c}" for w in ran["writers"] for c in w.crashes]
    if crashes:
        notes.append(f"- writers that died on their own (restarted): {'; '.join(crashes)}")
    if ran["sync"].returncode != 0:
        notes.append(f"- the last `orch sync` failed: {ran['sync'].stderr.strip()}")
    if ran["watcher_exit"] not in (0, 130, -signal.SIGINT):
        notes.append(f"- `orch watch` exited {ran['watcher_exit']}")
    return lines + (["", *notes] if notes else [])


def orch_version(orch: Path) -> str:
    """Where the orch run comes from: its package folder and that checkout's commit."""
    python = orch.parent / "python"
    if not python.exists():
        return f"`{orch}`"
    done = subprocess.run(
        [str(python), "-c", "import orchestrator; print(orchestrator.__file__)"],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        return f"`{orch}`"
    package = Path(done.stdout.strip()).parent
    git = ["git", "-C", str(package)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        return f"`{orch}` ({package})"
    dirty = subprocess.run([*git, "status", "--porcelain", "."], capture_output=True, text=True)
    changes = " + uncommitted changes" if dirty.stdout.strip() else ""
    return f"`{orch}`, code of {package.parent} at commit {commit.stdout.strip()}{changes}"


def main(argv: list[str] | None = None) -> None:
    from cli_reads import ORCH, append_results, section_header

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=4, help="CLI writer processes")
    parser.add_argument("--mcp", type=int, default=2, help="MCP writers (a server each)")
    parser.add_argument("--editors", type=int, default=2, help="hand editors")
    parser.add_argument("--ops", type=int, default=40, help="operations per writer")
    parser.add_argument("--kills", type=int, default=6, help="writers killed during the run")
    parser.add_argument("--tasks", type=int, default=500, help="tasks of the generated project")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--orch", type=Path, default=ORCH, help="the orch executable to run")
    parser.add_argument("--keep", action="store_true", help="keep the project and logs")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not Path("/proc").is_dir():
        sys.exit("soak.py finds process groups and children in /proc (Linux)")
    args.orch = args.orch.absolute()
    if not os.access(args.orch, os.X_OK):
        sys.exit(f"no orch executable at {args.orch} (--orch PATH)")
    section = section_header("sqlite", " — Reliability: soak (writers, editors, a watcher, kills)")
    section[-1] = f"- orch: {orch_version(args.orch)}"
    work = Path(tempfile.mkdtemp(prefix="orch-soak-"))
    try:
        ran = soak(args, work / "project", work)
        found = check(work / "project", ran)
    finally:
        if args.keep:
            print(f"project and logs kept in {work}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    lines = table(args, ran, found)
    print("\n".join(lines))
    if not args.no_append:
        append_results([*section, "", *lines])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ACTORS:
        ACTORS[sys.argv[1]](json.loads(sys.argv[2]))
    else:
        main()
