"""Moving in: work kept in other tools becomes sessions, groups and tasks.

- `backlog`: a Backlog.md project (backlog/tasks/*.md, backlog/completed/*.md);
- `taskmaster`: a Task Master tasks.json (tagged: each tag a session; or the older
  single list);
- `legacy`: the SQLite database of the legacy MCP Task Orchestrator (task_breakdowns,
  subtasks and task_results tables), as the spec's migration phase 1 asks;
- `zip_export`: a session exported as zip by orch itself, or an archive, brought back
  file for file.

One module per source. Each of the first three is read into plain plans (`plans`: Source,
Item), then written by one `import_plans` (`writing`) in one commit. Ids are derived from the source's own ids (a hash of source and key), so
running an import again finds what it made and adds only what is new: nothing is
duplicated. Every record keeps where it came from in `import_source`; what could not be
mapped (a status, a dependency on a task that is not there) is reported, never guessed.
"""

from orchestrator.core.imports.backlog import read_backlog
from orchestrator.core.imports.legacy import read_legacy
from orchestrator.core.imports.plans import Item, Source, stable_id
from orchestrator.core.imports.taskmaster import read_taskmaster
from orchestrator.core.imports.writing import import_plans
from orchestrator.core.imports.zip_export import import_zip, read_zip

__all__ = [
    "Item",
    "Source",
    "import_plans",
    "import_zip",
    "read_backlog",
    "read_legacy",
    "read_taskmaster",
    "read_zip",
    "stable_id",
]
