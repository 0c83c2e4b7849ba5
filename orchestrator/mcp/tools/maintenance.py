"""Upkeep: cleanup, the maintenance coordinator, sync, and merge conflicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from orchestrator.core import cleanup, conflicts, doctor, modes, remote, workflow
from orchestrator.core.project import Project
from orchestrator.mcp import next_steps
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import ROWS, Data, Reply, cleanup_reply, shown_of, trimmed
from orchestrator.mcp.served import served

Scope = Literal["active_session", "all_sessions"]


def orchestrator_cleanup(
    ctx: Context, scope: Scope = "active_session", dry_run: bool = True,
    empty_groups: bool = False,
) -> Reply:  # fmt: skip
    """Find stale records; dry_run=false fixes them."""
    with served(ctx).call() as call:
        out = cleanup_reply(
            cleanup.cleanup(call.project, scope, apply=not dry_run, empty_groups=empty_groups)
        )
        verb = "would fix" if dry_run else "fixed"
        out["next_step"] = next_steps.for_cleanup(out["findings"], dry_run)
        return call.reply(f"Cleanup {verb} {out['findings_total']} item(s).", out)


def validate_structure(project: Project) -> tuple[str, Data]:
    """Every problem in the files and every invalid mode (as `orch doctor` lists them)."""
    found = [
        {"where": f"{x.path}:{x.line}" if x.line else x.path, "severity": x.severity,
         "problem": x.message, "fix": x.fix}
        for x in doctor.problems(project)
    ]  # fmt: skip
    bad_modes = [m.file_name for m in modes.validate_modes(project) if not m.is_valid]
    out = {"problems_total": len(found), "problems": trimmed(found, ROWS // 2),
           "invalid_modes": bad_modes}  # fmt: skip
    return f"{len(found)} problem(s); {len(bad_modes)} invalid mode(s).", out


def orchestrator_maintenance_coordinator(
    ctx: Context,
    action: Literal[
        "scan_cleanup", "validate_structure", "update_documentation", "prepare_handover"
    ],
    scope: Scope = "active_session",
) -> Reply:
    """Scan, validate or clean up the records."""
    with served(ctx).call() as call:
        p = call.project
        if action == "scan_cleanup":
            out = cleanup_reply(cleanup.cleanup(p, scope, apply=False))
            out["next_step"] = next_steps.for_cleanup(out["findings"], dry_run=True)
            return call.reply(f"{out['findings_total']} item(s) to clean up.", out)
        if action == "validate_structure":
            text, out = validate_structure(p)
        elif action == "update_documentation":
            out = remote.sync(p)
            text = f"Views regenerated; {len(out['commits'])} commit(s)."
        else:
            out = workflow.handover(p)
            text = f"Handover written to {out['file']}."
        out["next_step"] = next_steps.STATUS
        return call.reply(text, out)


def orchestrator_sync(ctx: Context) -> Reply:
    """Commit what is not committed; exchange with a remote."""
    with served(ctx).call() as call:
        out = remote.sync(call.project)
        found = f"; conflicts in {', '.join(out['conflicts'])}" if out["conflicts"] else ""
        out["next_step"] = (
            "orchestrator_conflicts() lists them" if out["conflicts"] else next_steps.STATUS
        )
        return call.reply(f"Synced: {len(out['commits'])} commit(s){found}.", out)


def orchestrator_resolve_conflict(
    ctx: Context,
    record_id: str,
    strategy: Literal["db_wins", "md_wins", "merge"],
    picks: dict[str, Literal["ours", "theirs", "base"]] | None = None,
) -> Reply:
    """Settle a recorded merge conflict."""
    with served(ctx).call() as call:
        chosen: dict[str, str] | None = dict(picks) if picks is not None else None
        out = conflicts.resolve(call.project, record_id, strategy, chosen)
        out["next_step"] = next_steps.STATUS
        return call.reply(f"Resolved {out['record_id']} ({strategy}).", out)


def orchestrator_conflicts(ctx: Context) -> Reply:
    """Merge conflicts waiting to be resolved."""
    with served(ctx).call() as call:
        found = conflicts.list_conflicts(call.project)
        listed = trimmed(found, ROWS)
        return call.reply(
            shown_of(len(listed), len(found), "record in conflict"),
            {
                "conflicts": listed,
                "total": len(found),
                "next_step": next_steps.for_conflicts(listed),
            },
        )


TOOLS: list[Callable[..., Any]] = [
    orchestrator_cleanup,
    orchestrator_maintenance_coordinator,
    orchestrator_sync,
    orchestrator_resolve_conflict,
    orchestrator_conflicts,
]
