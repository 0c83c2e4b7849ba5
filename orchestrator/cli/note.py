"""`orch note decision|learning|next TEXT`: dated entries in a session's notes."""

from __future__ import annotations

import click

from orchestrator.cli.output import echo, emit_json, json_option
from orchestrator.store.session_view import NOTE_SECTIONS


@click.command()
@click.argument("kind", type=click.Choice(list(NOTE_SECTIONS)))
@click.argument("text")
@click.option("--session", metavar="ID|NAME", help="Default: the active session.")
@json_option
@click.pass_obj
def note(ctx, kind, text, session, as_json) -> None:
    """Add a dated entry to the session's Decisions Made (decision), Key Learnings
    (learning) or Next Steps (next), in its session.md, and commit it."""
    from orchestrator.core.views import add_note

    result = add_note(ctx.project, kind, text, session)
    if as_json:
        emit_json(result)
        return
    section = NOTE_SECTIONS[kind].lstrip("# ")
    echo(f"Added to {section} in {result['file']}: {result['entry']}")
