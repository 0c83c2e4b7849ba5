"""Project commands: init, demo, status, reindex, doctor."""

from __future__ import annotations

import time
from pathlib import Path

import click

from orchestrator.cli.output import (
    Styled,
    bar,
    echo,
    emit_json,
    hours,
    json_option,
    status_text,
    styled_line,
    table,
    with_guides,
)
from orchestrator.model import BLOCKED, DEFAULT_MODE, IN_PROGRESS, Problem


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option(
    "--git-hooks",
    is_flag=True,
    help="Also register the merge driver (orch git install) and install the git hooks"
    " (orch hooks install).",
)
@click.pass_obj
def init(ctx, directory: str | None, git_hooks: bool) -> None:
    """Create .task_orchestrator/ in DIRECTORY (default: --root, or the current directory).

    Adds config.yaml, the shipped modes in roles/, sessions/, archives/ and exports/.
    Running it again only adds what is missing.
    """
    from orchestrator.core.setup import init_project

    project, created = init_project(directory or ctx.root or ".")
    ctx.adopt(project)
    if created:
        echo(f"Initialised {project.layout.base}")
        for path in created:
            echo(f"  created {path}")
        echo('Next: orch session create "My first session"')
    else:
        echo(f"{project.layout.base} is already set up; nothing to add")
    if git_hooks:
        from orchestrator.core.hooks import install as install_hooks
        from orchestrator.core.remote import install as install_driver

        driver = install_driver(project)
        echo(f"Merge driver: {driver['attributes']} and merge.orch.driver (orch git install)")
        installed = install_hooks(project)
        echo(f"Git hooks: {', '.join(installed['hooks'])} in {installed['hooks_dir']}")


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.pass_obj
def demo(ctx, directory: str | None) -> None:
    """Copy the sample project into DIRECTORY (default: a new temporary directory) as a
    git repository, and show its board."""
    from orchestrator.core.board import board
    from orchestrator.core.setup import make_demo

    project, notes = make_demo(directory)
    ctx.adopt(project)
    for note in notes:
        project.warnings.append(note)
    echo(f"Demo project: {project.root}\n")
    show_board(board(project))
    echo(f"\nTry:  cd {project.root} && {own_command()} task list --ready")


def own_command() -> str:
    """How to run orch again: `orch` if that is on PATH, else the path it was run by."""
    import shutil
    import sys

    here = Path(sys.argv[0]).resolve()
    found = shutil.which("orch")
    if (found and Path(found).resolve() == here) or here.name != "orch":
        return "orch"
    return str(here)


@click.command()
@json_option
@click.pass_obj
def status(ctx, as_json: bool) -> None:
    """The board: the active session, its groups with progress, ready tasks, other
    sessions, and problems found in the files."""
    from orchestrator.core.board import board

    data = board(ctx.project, name_broken=True)
    if as_json:
        emit_json(data)
    else:
        show_board(data)


def show_in_progress(data: dict) -> None:
    """The board's tasks in progress, briefly: id, title, specialist."""
    if not data["in_progress"]:
        return
    echo(Styled(f"\nIn progress ({data['in_progress_count']})", bold=True))
    table(
        ([t["task_id"], t["title"], t["specialist_type"] or ""] for t in data["in_progress"]),
        indent=2,
    )
    if data["in_progress_count"] > len(data["in_progress"]):
        more = data["in_progress_count"] - len(data["in_progress"])
        echo(f"  ... and {more} more: orch task list --status in_progress")


def show_board(data: dict) -> None:
    active = data["active_session"]
    if active is None:
        echo(
            "No active session. Create one: orch session create NAME"
            " (or activate one: orch session activate ID)"
        )
    else:
        context = data["mode"] or {}
        mode = context.get("effective_mode") or active["mode_file"] or DEFAULT_MODE
        if context.get("status", "ok") != "ok":
            mode += f" (instead of {context['mode_file']}, which is {context['status']})"
        echo(
            styled_line(
                Styled(active["name"], bold=True),
                f"  {active['session_id']}  ",
                status_text(active["status"]),
                f"  mode {mode}",
            )
        )
        counts = data["status_counts"]
        extra = "".join(
            f" · {counts[s]} {s.replace('_', ' ')}" for s in (IN_PROGRESS, BLOCKED) if counts.get(s)
        )
        echo(
            styled_line(
                bar(active["progress_percentage"], 30),
                f" {active['progress_percentage']:5.1f}%"
                f"  {active['completed_tasks']}/{active['total_tasks']} tasks{extra}",
            )
        )
        if data["groups"]:
            echo(Styled("\nGroups", bold=True))
            table(
                (
                    [
                        prefix + g["group_name"],
                        bar(g["progress_percentage"], 16),
                        f"{g['progress_percentage']:5.1f}%",
                        f"{g['completed_tasks']}/{g['total_tasks']}",
                        g["specialist_focus"] or "",
                        f"P{g['priority_level']}",
                    ]
                    for prefix, g in with_guides(data["groups"], "group_level")
                ),
                indent=2,
            )
        show_in_progress(data)
        echo(Styled(f"\nReady ({data['ready_count']})", bold=True))
        if data["ready"]:
            table(
                (
                    [
                        t["task_id"],
                        t["title"],
                        t["specialist_type"] or "",
                        f"P{t['priority_level']}",
                        hours(t["estimated_effort"]),
                    ]
                    for t in data["ready"]
                ),
                indent=2,
            )
            if data["ready_count"] > len(data["ready"]):
                echo(
                    f"  ... and {data['ready_count'] - len(data['ready'])} more: orch task list --ready"
                )
        else:
            echo("  nothing is ready")
    if data["other_sessions"]:
        echo(Styled("\nOther sessions", bold=True))
        table(
            (
                [
                    s["session_id"],
                    s.get("problem") or s["name"],  # an error's: what is wrong, and where
                    status_text(s["status"]),
                    f"{s['progress_percentage']:.1f}% ({s['completed_tasks']}/{s['total_tasks']})",
                ]
                for s in data["other_sessions"]
            ),
            indent=2,
        )
    problems = data["problems"]
    if problems["conflicts"]:
        echo(
            Styled(
                f"\n{problems['conflicts']} merge conflict(s) to settle: run `orch conflicts`",
                fg="red",
            )
        )
    if problems["errors"] or problems["warnings"]:
        echo(
            Styled(
                f"\n{problems['errors']} problem(s) and {problems['warnings']} warning(s) in the"
                " files: run `orch doctor`",
                fg="red" if problems["errors"] else "yellow",
            )
        )
    show_broken(data.get("broken", []))


BROKEN_SHOWN = 10  # problems of broken files the board names; `orch doctor` lists them all


def show_broken(broken: list[dict]) -> None:
    """The broken files, named as the doctor names problems (`path:line: problem — fix`)."""
    if not broken:
        return
    files = len({p["path"] for p in broken})
    echo(Styled(f"\n{files} broken file(s), not committed until fixed:", fg="red", bold=True))
    for problem in broken[:BROKEN_SHOWN]:
        echo(Styled(f"  {Problem(**problem)}", fg="red"))
    if len(broken) > BROKEN_SHOWN:
        echo(f"  ... and {len(broken) - BROKEN_SHOWN} more: orch doctor")


@click.command()
@json_option
@click.pass_obj
def reindex(ctx, as_json: bool) -> None:
    """Rebuild the index from the files (it is a cache; nothing is lost)."""
    project = ctx.project
    started = time.perf_counter()
    if as_json:
        report = project.reindex()
    else:
        with click.progressbar(length=1, label="Reading records", show_pos=True) as progress:

            def step(done: int, total: int) -> None:
                progress.length = total
                progress.update(done - progress.pos)

            report = project.reindex(progress=step)
    from orchestrator.core.board import problems

    found = problems(project)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if as_json:
        emit_json(
            {"files": len(report.read), "problems": len(found), "elapsed_ms": round(elapsed_ms, 1)}
        )
    else:
        echo(
            f"Indexed {len(report.read)} files in {elapsed_ms:.0f} ms"
            f" ({project.config.index}); {len(found)} problem(s)"
        )


@click.command()
@click.option(
    "--fix",
    "repair",
    is_flag=True,
    help="First repair what is safe to repair (fields orch computes written by mistake,"
    " ids that disagree with the file's place, duplicated ids, broken session.md regions,"
    " stale views), in one commit, and say what changed.",
)
@json_option
@click.pass_obj
def doctor(ctx, repair: bool, as_json: bool) -> None:
    """List every problem in the files as `path:line: problem — fix`, what `orch cleanup`
    finds included. Exits 1 if there is an error or a merge conflict (warnings alone exit
    0)."""
    from orchestrator.core.doctor import problems

    fixed = None
    if repair:
        from orchestrator.core.doctor import fix

        fixed = fix(ctx.project)
        if not as_json:
            for line in fixed:
                echo(f"fixed: {line}")
            if not fixed:
                echo("Nothing to repair.")
    found = problems(ctx.project)
    if as_json and fixed is not None:
        emit_json({"fixed": fixed, "problems": [p.__dict__ for p in found]})
        if any(p.severity != "warning" for p in found):
            raise SystemExit(1)
        return
    if as_json:
        emit_json([p.__dict__ for p in found])
    elif not found:
        echo("No problems found.")
    else:
        for p in found:
            echo(Styled(str(p), fg="yellow" if p.severity == "warning" else "red"))
    if not as_json:
        # On stderr: standard output stays the list of problems, for scripts.
        from orchestrator.cli.daemon import describe
        from orchestrator.core.daemon import status

        echo(describe(status(ctx.project.layout)), err=True)
    if any(p.severity != "warning" for p in found):
        raise SystemExit(1)
