"""Shared helpers for the AppTest page tests (upload, ingest log, spend vs results).

- One demo store per test session, built once with ``build_demo(Store(path), n_cases=5000)``,
  and one council store holding the same files loaded as a council's own (``council_store``:
  the demo's store takes no other load); a test that writes gets its own copy of the folder.
- ``folder_digest`` hashes every file in a store folder, to prove a refused upload changed nothing.
- ``page`` builds an ``AppTest`` for one page with ``secrets`` and ``user`` always set explicitly
  (STYLE.md §19).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the pages import ui/ and neighbourhood/ from the repo root
    sys.path.insert(0, str(REPO))

N_CASES = 5000
ANALYST = "ana.lyst@council.gov.uk"
VIEWER = "councillor@council.gov.uk"
AUTH_SECRETS: dict[str, Any] = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-only",
        "client_id": "test",
        "client_secret": "test",
        "server_metadata_url": "https://login.example/.well-known/openid-configuration",
    },
    "roles": {"analysts": [ANALYST]},
}

#: Secrets without an [auth] section: local mode.
LOCAL_SECRETS: dict[str, Any] = {"roles": {"analysts": []}}

_TEMPLATE: dict[str, Path] = {}


def demo_store(base: Path) -> Path:
    """The session's demo store folder (built on first use under ``base``). Do not write to it."""
    if "path" not in _TEMPLATE:
        from neighbourhood.demo import build_demo
        from neighbourhood.store import Store

        path = base / "demo-store"
        build_demo(Store(path), n_cases=N_CASES)
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


def demo_files_as_council(path: Path, n_cases: int = N_CASES) -> Path:
    """A council's store (marked ``council``) holding the demo generator's files, loaded as a
    council loads its own extracts. Tests that load more files need this: the demo's own store
    takes no other load (docs/architecture.md, "The demo store")."""
    import tempfile

    from neighbourhood.demo import generate_demo
    from neighbourhood.ingest import ingest_path
    from neighbourhood.store import Store

    with tempfile.TemporaryDirectory(prefix="council-extracts-") as tmp:
        files = generate_demo(Path(tmp), n_cases=n_cases)
        store = Store(path)
        for file, kind in (
            (files.wards, "wards"),
            (files.population, "population"),
            (files.spend, "spend"),
            (files.cleansing, "cleansing"),
            (files.enforcement, "enforcement"),
        ):
            ingest_path(store, file, kind, actor="test", channel="cli")
    return path


def council_store(base: Path) -> Path:
    """The session's council store (the demo's files loaded as own data). Do not write to it."""
    if "council" not in _TEMPLATE:
        _TEMPLATE["council"] = demo_files_as_council(base / "council-store")
    return _TEMPLATE["council"]


def copy_store(template: Path, dest: Path) -> Path:
    """A private copy of a store folder for a test that writes."""
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("*.build.lock"))
    return dest


def folder_digest(path: Path) -> dict[str, str]:
    """SHA-256 of every file under ``path``, keyed by relative path."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def page(
    name: str, *, secrets: dict[str, Any] | None = None, user: dict[str, Any] | None = None
) -> AppTest:
    """An AppTest for ``pages/<name>`` with explicit secrets and user (local mode by default)."""
    at = AppTest.from_file(str(REPO / "pages" / name), default_timeout=120)
    # Never empty: AppTest would then fall back to a developer's real .streamlit/secrets.toml.
    at.secrets = dict(secrets or LOCAL_SECRETS)
    at.user = dict(user if user is not None else {})
    return at


def analyst(name: str) -> AppTest:
    """The page as a signed-in analyst (auth configured)."""
    return page(name, secrets=AUTH_SECRETS, user={"is_logged_in": True, "email": ANALYST})


def viewer(name: str) -> AppTest:
    """The page as a signed-in viewer (auth configured, not on the analyst list)."""
    return page(name, secrets=AUTH_SECRETS, user={"is_logged_in": True, "email": VIEWER})


def texts(at: AppTest) -> str:
    """Every markdown-ish text on the page, joined (for "is this sentence shown" checks)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
    ):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts).replace("\\", "").replace("\u2060", "")  # labels' escapes (ui.text)
