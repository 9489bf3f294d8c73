"""Package-level rules (STYLE.md §3)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_neighbourhood_package_never_imports_streamlit() -> None:
    code = (
        "import sys, importlib, pkgutil, neighbourhood\n"
        "for m in pkgutil.iter_modules(neighbourhood.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module('neighbourhood.' + m.name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
