"""Run one measured step in a fresh Python process: the benchmarks' shared runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_json(code: str, argv: Sequence[str], label: str) -> tuple[dict, str]:
    """Run ``code`` with ``argv`` in a fresh interpreter, with the repository on its path.

    A fresh process per step means that ``ru_maxrss`` is the peak of that step alone.

    Parameters
    ----------
    code : str
        The child's source; it prints one JSON object as its last line of standard output.
    argv : sequence of str
        The child's ``sys.argv[1:]``.
    label : str
        The step's name, for the error when the child fails.

    Returns
    -------
    tuple of dict and str
        The last line of the child's standard output as JSON, and its standard error.
    """
    out = subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{label} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr
