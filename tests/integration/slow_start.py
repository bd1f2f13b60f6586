"""A machine slow to start processes, without burning CPU: with :func:`slow_start_env`, every
Python process sleeps ``delay_s`` in ``sitecustomize`` before it runs anything, as a process on
a loaded machine waits for a core before it gets going.

``spare_first``: the first process (the command a test starts) starts at once and marks
itself in the environment its children inherit; only they are slow.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["slow_start_env"]

_SITECUSTOMIZE = """\
import os
import time

if os.environ.get("SLOW_START_FIRST"):
    time.sleep(float(os.environ["SLOW_START_S"]))
else:
    os.environ["SLOW_START_FIRST"] = str(os.getpid())
"""


def slow_start_env(directory: Path, delay_s: float, *, spare_first: bool) -> dict[str, str]:
    """The environment variables that make Python processes start ``delay_s`` late (their
    ``sitecustomize`` is written to ``directory``)."""
    (directory / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    path = [str(directory), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {"PYTHONPATH": os.pathsep.join(path), "SLOW_START_S": repr(delay_s)}
    if not spare_first:
        env["SLOW_START_FIRST"] = "the test"
    return env
