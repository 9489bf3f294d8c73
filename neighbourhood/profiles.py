"""Saved column mappings ("profiles"): an analyst's choices of which column is which, kept in
the store so that next month's extract, loaded by a scheduled job, is read the same way.

A profile is a name, a kind and ``{file header: field}`` (fields by their plain names, as
``ingest --map`` takes them). It is applied as ``ReadOptions.saved_map``: headers the file lacks
are passed over, and ``--map`` wins where both name a header (``docs/loaders.md``, "Headers").
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from neighbourhood.headers import plain_field, resolve_field
from neighbourhood.store import PROFILE_COLUMNS, Store, _create_sql

__all__ = ["ProfileError", "delete_profile", "list_profiles", "load_profile", "save_profile"]

_NAME_RE = re.compile(r"^[\w][\w .-]{0,63}$")


class ProfileError(ValueError):
    """A profile name or mapping that cannot be saved or found (a plain sentence)."""


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME_RE.match(name):
        raise ProfileError(
            f"{name!r} is not a usable profile name: use up to 64 letters, digits, spaces, "
            "dots, dashes or underscores."
        )
    return name


def _has_table(con: Any) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'mapping_profiles'"
    ).fetchone()
    return bool(found and found[0])


def save_profile(
    store: Store, name: str, kind: str, column_map: dict[str, str], actor: str = "cli"
) -> dict[str, str]:
    """Save (or replace) a named mapping for a kind; returns the map as stored (plain names).

    Parameters
    ----------
    store
        An existing store.
    name
        The profile's name (``--profile NAME``).
    kind
        ``cleansing``, ``enforcement``, ``spend`` or ``population``.
    column_map
        File header → field (plain or internal name, or "ignore").
    actor
        Who saved it.

    Returns
    -------
    dict

    Raises
    ------
    ProfileError
        An unusable name or a field that is not one of the kind.

    Examples
    --------
    >>> save_profile(Store(), "Confirm", "cleansing", {"Ref No": "case_id"})  # doctest: +SKIP
    {'Ref No': 'case reference'}
    """
    name = _check_name(name)
    shown: dict[str, str] = {}
    for header, target in column_map.items():
        field = resolve_field(str(target), kind)
        if field is None:
            raise ProfileError(f"{target!r} is not a field of a {kind} extract.")
        shown[str(header)] = plain_field(kind, field) if field else "ignore"
    if not shown:
        raise ProfileError("A profile needs at least one column.")
    with store.writing():
        con = store._connect(read_only=False)
        try:
            con.execute("BEGIN")
            con.execute(_create_sql("mapping_profiles", PROFILE_COLUMNS))
            con.execute("DELETE FROM mapping_profiles WHERE name = ? AND kind = ?", [name, kind])
            con.execute(
                "INSERT INTO mapping_profiles VALUES (?, ?, ?, ?, ?)",
                [name, kind, json.dumps(shown, sort_keys=True), datetime.now(UTC), actor],
            )
            con.execute("COMMIT")
        finally:
            con.close()
    return shown


def load_profile(store: Store, name: str, kind: str) -> dict[str, str]:
    """The saved map of a profile, ``{header: field}``.

    Raises
    ------
    ProfileError
        No such profile for this kind (the message lists the saved ones).

    Examples
    --------
    >>> load_profile(Store(), "Confirm", "cleansing")  # doctest: +SKIP
    {'Ref No': 'case reference'}
    """
    name = _check_name(name)
    row = None
    if store.exists():
        with store.read() as con:
            if _has_table(con):
                row = con.execute(
                    "SELECT column_map FROM mapping_profiles WHERE name = ? AND kind = ?",
                    [name, kind],
                ).fetchone()
    if row is None:
        saved = list_profiles(store, kind)
        known = ", ".join(repr(n) for n in saved) if saved else "none yet"
        raise ProfileError(
            f"There is no {kind} mapping profile called {name!r} in {store.path} (saved: "
            f"{known}). Save one with --map … --save-profile NAME, or on the Load data page."
        )
    return dict(json.loads(row[0]))


def list_profiles(store: Store, kind: str | None = None) -> list[str]:
    """Names of the saved profiles (of one kind), sorted.

    Examples
    --------
    >>> list_profiles(Store("/tmp/no-such-store"))
    []
    """
    if not store.exists():
        return []
    with store.read() as con:
        if not _has_table(con):
            return []
        sql = "SELECT DISTINCT name FROM mapping_profiles"
        rows = (
            con.execute(sql + " WHERE kind = ? ORDER BY name", [kind]).fetchall()
            if kind
            else con.execute(sql + " ORDER BY name").fetchall()
        )
    return [r[0] for r in rows]


def delete_profile(store: Store, name: str, kind: str) -> bool:
    """Remove a profile; True when there was one.

    Examples
    --------
    >>> delete_profile(Store(), "Old", "cleansing")  # doctest: +SKIP
    True
    """
    name = _check_name(name)
    if name not in list_profiles(store, kind):
        return False
    with store.writing():
        con = store._connect(read_only=False)
        try:
            con.execute("DELETE FROM mapping_profiles WHERE name = ? AND kind = ?", [name, kind])
        finally:
            con.close()
    return True
