"""Where the folders shipped with orch are: schema/, config/, sample_project/, hooks/.

In a source checkout (and an editable install) they sit beside the package; a wheel
carries them inside it as orchestrator/_data/.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from orchestrator.errors import OrchError

_PACKAGE = Path(__file__).resolve().parent


@cache
def shipped(name: str) -> Path:
    """Return the shipped folder `name` ("schema", "config", "sample_project", "hooks")."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise OrchError(
        f"orch is installed without its {name}/ folder; reinstall it (pip install orch)"
    )
