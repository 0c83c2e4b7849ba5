"""`orch sync`, `orch conflicts`, `orch resolve` and `orch git ...`: commits, merges and
the exchange with other clones."""

from __future__ import annotations

import click

from orchestrator.cli.output import Styled, echo, emit_json, json_option
from orchestrator.core.conflicts import STRATEGIES


def short(commit: str | None) -> str:
    return commit[:9] if commit else "-"


@click.command()
@click.option(
    "--remote",
    metavar="NAME",
    help="Also exchange the current branch with this git remote: commit, fetch, merge"
    " (record files field by field), reindex, push.",
)
@json_option
@click.pass_obj
def sync(ctx, remote, as_json) -> None:
    """Commit every change not committed yet: edits made outside orch (an editor, sed,
    a checkout) and, with `commit: batch`, the changes waiting for their commit. Exits 1
    if a change could not be committed (the warning says why)."""
    from orchestrator.core import remote as core

    result = core.sync_remote(ctx.project, remote) if remote else core.sync(ctx.project)
    if as_json:
        emit_json(result)
        return
    commits = result["commits"]
    if commits:
        echo(f"Committed {len(commits)} sync(s): {', '.join(short(c) for c in commits)}")
    elif result["mode"] == "off":
        echo("Index up to date; commits are off in config.yaml (commit: off)")
    elif not result["pending"]:
        echo("Nothing to commit: the files match the last commit")
    if remote:
        what = "merged, pushed" if result["merged"] else "pushed (nothing new to merge)"
        echo(f"{result['remote']}/{result['branch']}: {what}; HEAD {short(result['head'])}")
    # `orch sync` commits what waits, batch or not: anything left could not be committed.
    if result["pending"]:
        echo(f"{result['pending']} sync(s) still wait for their commit (see the warning)")
    if result["conflicts"]:
        echo(
            Styled(
                f"{len(result['conflicts'])} record(s) in conflict:"
                f" {', '.join(result['conflicts'])} (orch conflicts)",
                fg="red",
            )
        )
    if result["pending"]:
        raise SystemExit(1)  # a sync that could not commit has not done its job


@click.command()
@json_option
@click.pass_obj
def conflicts(ctx, as_json) -> None:
    """List records a merge left in conflict (fields both sides changed, or lines)."""
    from orchestrator.core.conflicts import list_conflicts

    found = list_conflicts(ctx.project)
    if as_json:
        emit_json(found)
        return
    if not found:
        echo("No conflicts.")
        return
    for c in found:
        what = ", ".join(c["fields"] + (["text"] if c["text_conflict"] else []))
        echo(Styled(f"{c['record_id']}  {c['path']}  ({what})", bold=True))
        for line in c["details"]:
            echo(f"  {line}")
    echo(
        "\nSettle one with: orch resolve ID --strategy db_wins (keep ours) | md_wins (keep"
        " theirs) | merge --pick FIELD=ours|theirs|base"
    )


@click.command()
@click.argument("record_id")
@click.option(
    "--strategy",
    type=click.Choice(list(STRATEGIES)),
    required=True,
    help="db_wins: keep ours (what orch committed / the branch merged into; after sync"
    " --remote, this clone's value); md_wins: keep theirs (the editor's save / the branch"
    " merged in / the remote's value); merge: choose field by field with --pick"
    " (conflicting lines keep both sides).",
)
@click.option(
    "--pick",
    "picks",
    multiple=True,
    metavar="FIELD=SIDE",
    help="With --strategy merge: which side a conflicting field takes (ours, theirs or"
    " base). Repeat for each field.",
)
@json_option
@click.pass_obj
def resolve(ctx, record_id, strategy, picks, as_json) -> None:
    """Settle the merge conflicts of one record and commit the result."""
    from orchestrator.core.conflicts import resolve as core_resolve

    chosen = {}
    for pick in picks:
        field, sep, side = pick.partition("=")
        if not sep or not field or not side:
            raise click.BadParameter(f"{pick!r}: write FIELD=ours|theirs|base", param_hint="--pick")
        chosen[field.strip()] = side.strip()
    result = core_resolve(ctx.project, record_id, strategy, chosen)
    if as_json:
        emit_json(result)
        return
    echo(f"Resolved {result['record_id']} ({strategy}); commit {short(result['commit'])}")


@click.group()
def git() -> None:
    """Git integration: the merge driver for record files."""


@git.command("install")
@json_option
@click.pass_obj
def install(ctx, as_json) -> None:
    """Register orch's merge driver, so `git merge` and `git pull` merge record files
    field by field (.task_orchestrator/.gitattributes plus this clone's git config)."""
    from orchestrator.core.remote import install as core_install

    result = core_install(ctx.project)
    if as_json:
        emit_json(result)
        return
    state = "written and committed" if result["attributes_changed"] else "already present"
    echo(f"{result['attributes']}: {state}")
    echo(f"merge.orch.driver set in {result['repository']}: {result['driver']}")
