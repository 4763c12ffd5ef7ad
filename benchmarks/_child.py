"""Run a benchmark script's child mode under this or another checkout's code and read the JSON line it prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_child(script: str, argv: list[str], code: str | None = None, env: dict[str, str] | None = None) -> dict:
    """`python script *argv` in a fresh process, importing `planner` from checkout `code` (None: this one).

    The child prints its figures as one JSON object on its last stdout line; a failing child stops
    the benchmark with its own error (check=True), as each script did on its own before.
    """
    full = {**os.environ, **(env or {})}
    if code:
        full["PYTHONPATH"] = str(Path(code).resolve())
    out = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True, check=True,
                         env=full if (code or env) else None)
    return json.loads(out.stdout.strip().splitlines()[-1])
