"""Regenerate sample_project/, the project `orch demo` copies, through orch's own core.

    python tools/make_sample_project.py [TARGET]     (default: sample_project/)

It replaces TARGET/.task_orchestrator/. The result: one active session (four groups) bound to a custom
mode (tools/api_team_roles.yaml), one paused session, groups, subtasks, dependencies and
tasks in every common status.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from orchestrator.core import groups, sessions, tasks
from orchestrator.core.setup import init_project

HERE = Path(__file__).resolve().parent
README = """\
# Acme Payments (orch sample project)

A made-up payments company planning its v2 API with orch. The plan lives in
`.task_orchestrator/`: open any file there in an editor, or run `orch status`.
"""


def build(target: Path) -> None:
    shutil.rmtree(target / ".task_orchestrator", ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    (target / "README.md").write_text(README, encoding="utf-8")
    project, _ = init_project(target)
    shutil.copyfile(HERE / "api_team_roles.yaml", project.layout.roles_dir / "api_team_roles.yaml")

    # The paused session: created first, paused when the payments work took over.
    docs = sessions.create_session(
        project,
        "Developer docs revamp",
        session_type="project",
        priority_level=3,
        description="Rewrite the developer documentation around tasks people actually do.\n\n"
        "Paused while the payments v2 API is built; the reference part waits on its contract.",
    )
    sid = docs["session_id"]
    guides = groups.create_group(
        project,
        "Guides",
        session=sid,
        specialist_focus="documenter",
        priority_level=2,
        description="Task-oriented guides.",
    )["group_id"]
    reference = groups.create_group(
        project,
        "Reference",
        session=sid,
        specialist_focus="documenter",
        description="Generated API reference and error codes.",
    )["group_id"]

    def add(title, **kw):
        return tasks.add_task(project, title, session=kw.pop("session", sid), **kw)["task_id"]

    audit = add(
        "Audit existing guides",
        group=guides,
        specialist="researcher",
        estimate=3,
        description="List every guide, its traffic and its support tickets; mark each keep, rewrite or drop.",
    )
    started = add(
        "Write the getting-started guide",
        group=guides,
        specialist="documenter",
        estimate=5,
        depends_on=[audit],
        description="From API key to first successful payment in ten minutes.",
    )
    webhooks_guide = add(
        "Write the webhooks guide",
        group=guides,
        specialist="documenter",
        estimate=4,
        depends_on=[audit],
    )
    add(
        "Review the guides with the support team",
        group=guides,
        specialist="reviewer",
        estimate=2,
        depends_on=[started, webhooks_guide],
    )
    generate = add(
        "Generate the reference from OpenAPI",
        group=reference,
        specialist="documenter",
        estimate=6,
        description="One page per resource, generated in CI from the contract.",
    )
    pick = add(
        "Pick a reference generator",
        parent=generate,
        specialist="researcher",
        estimate=2,
        description="Compare Redoc, Scalar and a home-made renderer on our OpenAPI file.",
    )
    add(
        "Set up the docs CI job",
        parent=generate,
        specialist="implementer",
        estimate=2,
        depends_on=[pick],
    )
    add("Document the error codes", group=reference, specialist="documenter", estimate=3)
    add(
        "Add code samples in three languages",
        group=reference,
        specialist="documenter",
        estimate=4,
        depends_on=[generate],
    )
    tasks.done_task(project, audit, actual=3)
    tasks.done_task(project, pick, actual=1)
    tasks.start_task(project, started)

    # The active session, bound to the team's own mode.
    pay = sessions.create_session(
        project,
        "Payments API v2",
        session_type="project",
        mode_file="api_team_roles.yaml",
        priority_level=1,
        switch=True,
        description="Ship v2 of the payments API: payment intents, refunds and webhooks, with\n"
        "idempotent writes and OAuth for merchants. Beta to ten merchants by the end of the quarter.",
    )
    sid = pay["session_id"]
    design = groups.create_group(
        project,
        "Design",
        session=sid,
        specialist_focus="api_designer",
        priority_level=1,
        description="The contract: resources, errors, versioning.",
    )["group_id"]
    core_api = groups.create_group(
        project,
        "Core API",
        session=sid,
        specialist_focus="backend_engineer",
        priority_level=2,
        description="Service code behind the contract.",
    )["group_id"]
    security = groups.create_group(
        project, "Security", session=sid, specialist_focus="security_reviewer", priority_level=1
    )["group_id"]
    release = groups.create_group(
        project,
        "Testing and release",
        session=sid,
        specialist_focus="qa_engineer",
        priority_level=2,
        description="Proving v2 works under load, then getting it into merchants' hands.",
    )["group_id"]

    model = add(
        "Draft the v2 resource model",
        group=design,
        specialist="api_designer",
        estimate=6,
        description="Payment intents, charges, refunds and their states; what v1 objects map to.",
    )
    contract = add(
        "Write the OpenAPI contract",
        group=design,
        specialist="api_designer",
        estimate=8,
        depends_on=[model],
    )
    c1 = add(
        "Payments and refunds endpoints", parent=contract, specialist="api_designer", estimate=3
    )
    c2 = add(
        "Error format and codes",
        parent=contract,
        specialist="api_designer",
        estimate=2,
        description="RFC 9457 problem details; one code per failure a client can act on.",
    )
    c3 = add("Idempotency-Key semantics", parent=contract, specialist="api_designer", estimate=2)
    policy = add(
        "Versioning and deprecation policy", group=design, specialist="api_designer", estimate=2
    )

    intents = add(
        "Payment intents endpoint",
        group=core_api,
        specialist="backend_engineer",
        estimate=10,
        depends_on=[contract],
        priority=2,
    )
    persistence = add(
        "Persistence model and migration", parent=intents, specialist="backend_engineer", estimate=3
    )
    handlers = add(
        "Create and confirm handlers",
        parent=intents,
        specialist="backend_engineer",
        estimate=4,
        depends_on=[persistence],
    )
    add(
        "Card provider adapter",
        parent=intents,
        specialist="backend_engineer",
        estimate=3,
        description="Wrap the provider's SDK behind our own interface; sandbox credentials in the vault.",
    )
    refunds = add(
        "Refunds endpoint",
        group=core_api,
        specialist="backend_engineer",
        estimate=6,
        depends_on=[intents],
    )
    idempotency = add(
        "Idempotency middleware",
        group=core_api,
        specialist="backend_engineer",
        estimate=4,
        depends_on=[contract],
    )
    webhooks = add(
        "Webhook delivery with retries",
        group=core_api,
        specialist="backend_engineer",
        estimate=8,
        depends_on=[intents],
    )
    add("Sign webhook payloads", parent=webhooks, specialist="backend_engineer", estimate=2)
    add(
        "Retry queue with exponential backoff",
        parent=webhooks,
        specialist="backend_engineer",
        estimate=4,
    )
    add(
        "Cursor pagination for list endpoints",
        group=core_api,
        specialist="backend_engineer",
        estimate=3,
        depends_on=[contract],
        priority=4,
    )

    threat = add(
        "Threat model for payment flows",
        group=security,
        specialist="security_reviewer",
        estimate=4,
        depends_on=[model],
    )
    oauth = add(
        "OAuth client credentials for merchants",
        group=security,
        specialist="security_reviewer",
        estimate=6,
        depends_on=[threat],
        description="Blocked: the identity team's token service is not in staging yet.",
    )
    review = add(
        "Security review of payment intents",
        group=security,
        specialist="security_reviewer",
        estimate=3,
        depends_on=[intents],
        priority=1,
    )

    contract_tests = add(
        "Contract tests against OpenAPI",
        group=release,
        specialist="qa_engineer",
        estimate=5,
        depends_on=[contract],
    )
    sandbox = add(
        "Sandbox integration tests",
        group=release,
        specialist="qa_engineer",
        estimate=6,
        depends_on=[intents, refunds],
    )
    load = add(
        "Load test at 200 payments per second",
        group=release,
        specialist="qa_engineer",
        estimate=4,
        depends_on=[intents, idempotency],
    )

    guide = add(
        "Migration guide from v1 to v2",
        group=release,
        specialist="tech_writer",
        estimate=4,
        depends_on=[contract],
    )
    rollout = add(
        "Staged rollout plan",
        group=release,
        specialist="backend_engineer",
        estimate=2,
        depends_on=[sandbox, load, review],
    )
    add(
        "Announce the v2 beta to merchants",
        group=release,
        specialist="tech_writer",
        estimate=1,
        depends_on=[guide, rollout],
        priority=4,
    )

    for task_id, actual in (
        (model, 7),
        (c1, 3),
        (c2, 2),
        (c3, 3),
        (contract, 9),
        (policy, 2),
        (threat, 5),
        (persistence, 4),
        (idempotency, 4),
    ):
        tasks.done_task(project, task_id, actual=actual)
    for task_id in (intents, handlers, contract_tests):
        tasks.start_task(project, task_id)
    tasks.update_task(project, oauth, status="blocked")
    shutil.rmtree(project.layout.index_dir)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "sample_project")
