"""The names of orch's folders and files in a project.

layout.py builds its paths from them. They live apart from it, in a module that imports
nothing, because `orch` finds the project and the journal daemon's socket by them
(launch.py), and starts its early scan of the record files (index/prescan.py), before it
imports anything else: pathlib alone costs a command ~15 ms.
"""

ORCH_DIR = ".task_orchestrator"
INDEX_DIR = ".index"  # inside ORCH_DIR: the index, its snapshot, locks, the daemon's socket
ROLES_DIR = "roles"  # inside ORCH_DIR: the specialist mode files
SESSIONS_DIR = "sessions"  # inside ORCH_DIR: a folder per session
SESSION_FILE = "session.md"  # in a session's folder
KIND_FOLDER = {"group": "groups", "task": "tasks"}  # in a session's folder: a file each
MODE_SUFFIXES = (".yaml", ".yml")

# Editor droppings and orch's own temporary files: hidden files, swap files, backups,
# lock links (.t-x.md.swp, t-x.md~, #t-x.md#, .#t-x.md, .t-x.md.1234.tmp).
SKIPPED_FIRST = ".#~"
SKIPPED_LAST = ("~", ".swp", ".tmp")
