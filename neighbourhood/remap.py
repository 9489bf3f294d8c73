"""Re-apply the label maps to stored rows after ``data/category_map.csv`` or
``data/value_map.csv`` was edited, so that the analyst need not undo and reload.

The council's own category label of every case is stored (``category_raw``); :func:`remap`
maps each stored label again with today's tables and writes the cases whose category changed
as one logged, undoable change (channel ``remap`` in the ingest log). The ingest records the
maps it read with (``report["maps_digest"]``), so :func:`remap_due` can tell when the tables
changed since, and a file loaded again after an edit is read again rather than taken for the
earlier load (``ingest._read_identity``).

Enforcement labels (action, offence, outcome) and case status are not stored as written yet,
so they are re-derived only by loading their files again (``docs/loaders.md``, "Maps").
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from neighbourhood import loaders, schemas
from neighbourhood.loaders import maps_digest
from neighbourhood.store import IngestBatch, Store

__all__ = ["maps_digest", "remap", "remap_due"]


def _last_digest(store: Store) -> str | None:
    """The maps digest of the newest committed cleansing ingest (a load or a remap)."""
    log = store.log()
    if log.empty:
        return None
    done = log[(log["kind"] == "cleansing") & (log["status"] == "committed")]
    for details in done["details"]:  # newest first
        try:
            found = json.loads(details or "{}").get("maps_digest")
        except ValueError:
            continue
        if found:
            return str(found)
    return None


def remap_due(store: Store) -> bool:
    """Whether stored cases were mapped with other tables than today's.

    False for a store without cases (nothing to re-derive), and for one whose loads predate the
    recorded digest and hold no case (there too).

    Examples
    --------
    >>> remap_due(Store("/tmp/no-such-store"))
    False
    """
    if not store.exists():
        return False
    has_cases = int(store.query("SELECT count(*) AS n FROM cases")["n"].iloc[0]) > 0
    return has_cases and _last_digest(store) != maps_digest()


def remap(store: Store, actor: str = "cli", channel: str = "remap") -> dict[str, Any]:
    """Map every stored case's own label again and store the cases whose category changed.

    Parameters
    ----------
    store
        An existing store.
    actor, channel
        Who and through what, for the ingest log.

    Returns
    -------
    dict
        ``ingest_id``, ``rows_read`` (cases looked at), ``rows_updated`` (category changed),
        ``changes`` (``{"old → new": count}``) and a one-line ``message``.

    Examples
    --------
    >>> remap(Store())["rows_updated"]  # doctest: +SKIP
    12
    """
    digest = maps_digest()
    with store.writing():
        cols = list(schemas.CLEANSING_COLUMNS)
        stored = store.query(
            "SELECT " + ", ".join(f'"{c}"' for c in cols) + " FROM cases ORDER BY case_id"
        )
        lookup = loaders._category_lookup(str(loaders.base.CATEGORY_MAP_PATH))
        raw = stored["category_raw"].astype("str")
        mapped, _ = loaders._map_labels(raw, lookup)
        new = mapped.fillna("other").astype("str")
        changed = (new != stored["category"].astype("str")).to_numpy(bool)
        frame = stored[changed].copy()
        before = frame["category"].astype("str")
        frame["category"] = new[changed].to_numpy()
        pairs = (before + " → " + frame["category"]).value_counts()
        changes = {str(k): int(v) for k, v in pairs.items()}
        frame["source_line"] = range(1, len(frame) + 1)
        n = len(stored)
        message = (
            f"label maps re-applied to {n:,} stored cases: {len(frame):,} changed category"
            + (" (" + ", ".join(f"{k}: {v}" for k, v in changes.items()) + ")" if changes else "")
        )
        batch = IngestBatch(
            kind="cleansing",
            file_name="(label maps re-applied)",
            sha256=hashlib.sha256(f"remap {digest} {datetime.now(UTC)}".encode()).hexdigest(),
            n_bytes=0,
            frame=frame.reset_index(drop=True),
            actor=actor,
            channel=channel,
            started_at=datetime.now(UTC),
            rows_read=n,
            rows_rejected=0,
            message=message,
            report={"maps_digest": digest, "remap": True, "changes": changes},
            read_options=f"remap#{digest}",
            boundary_set=store.active_boundary_set(),
        )
        outcome = store.apply_ingest(batch)
    return {
        "ingest_id": outcome.ingest_id,
        "rows_read": n,
        "rows_updated": int(outcome.rows_updated),
        "changes": changes,
        "message": message,
    }
