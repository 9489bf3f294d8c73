"""Report: read_extract, the entry point, from bytes to the canonical frame, the rejects and the report.

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from neighbourhood import schemas as S
from neighbourhood.loaders.base import LOADER_KINDS, Extract, FileRefused, ReadOptions
from neighbourhood.loaders.containers import _unwrap
from neighbourhood.loaders.dates import _date_family
from neighbourhood.loaders.rows import _cases, _population, _reject_too_long, _spend
from neighbourhood.loaders.table import _read_csv, _read_xlsx
from neighbourhood.loaders.values import maps_digest


def read_extract(data: bytes, name: str, kind: str, options: ReadOptions | None = None) -> Extract:
    """Read one extract into canonical columns plus a per-row rejects report.

    Parameters
    ----------
    data : bytes
        The file as uploaded (CSV, CSV in ``.gz``/``.zip``, or ``.xlsx``).
    name : str
        The file name, for messages and the report only (never opened as a path).
    kind : {"cleansing", "enforcement", "spend", "population"}
        What the file holds.
    options : ReadOptions, optional
        Overrides for encoding, delimiter, date format, column names, size limit.

    Returns
    -------
    Extract
        ``frame`` (accepted rows, canonical columns + ``source_line``), ``rejects`` and
        ``report``.

    Raises
    ------
    FileRefused
        When the whole file must be refused (see :data:`FILE_RULES`).

    Examples
    --------
    >>> ex = read_extract(
    ...     b"Case ID,Date Received,Request Type\\nC1,05/03/2024 14:22,Fly tipping\\n",
    ...     "cases.csv",
    ...     "cleansing",
    ... )
    >>> ex.frame.loc[0, "reported_at"].isoformat(), ex.frame.loc[0, "category"]
    ('2024-03-05T14:22:00+00:00', 'fly_tipping')
    >>> ex.report["date_formats"]
    {'reported_at': '%d/%m/%Y %H:%M'}
    """
    if kind not in LOADER_KINDS:
        raise ValueError(f"kind must be one of {LOADER_KINDS} (wards are read by geo)")
    opts = options or ReadOptions()
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("data must be bytes")
    _date_family(opts)  # a date format that is no format is refused before any reading
    data = bytes(data)
    report: dict[str, Any] = {
        "file_name": name,
        "kind": kind,
        "bytes": len(data),
        "encoding": None,
        "delimiter": None,
        "format": None,
        "columns": {},
        "ignored_columns": [],
        "dropped_personal_columns": [],
        "date_formats": {},
        "unmapped_categories": {},
        "rows_read": 0,
    }
    if re.search(rb"\S", data[:1_000_000]) is None and not data[1_000_000:].strip():
        raise FileRefused("F_EMPTY", f"{name} is empty.")
    payload, fmt = _unwrap(data, name, opts.max_bytes, report)
    if re.search(rb"\S", payload[:1_000_000]) is None and not payload[1_000_000:].strip():
        raise FileRefused("F_EMPTY", f"{name} is empty once decompressed.")
    if fmt == "xlsx":
        frame, lines = _read_xlsx(payload, opts, kind, report)
    else:
        frame, lines = _read_csv(payload, opts, kind, report)

    blank = np.ones(len(frame), dtype=bool)  # column by column: no 2-D stack of the frame
    for col in frame.columns:
        blank &= frame[col].isna().to_numpy(bool)
    if blank.any():
        report["blank_rows"] = int(blank.sum())
        frame = frame[~blank].reset_index(drop=True)
        lines = lines[~blank]
    if frame.empty:
        raise FileRefused("F_NO_ROWS", f"{name} has a header but no data rows.")
    report["rows_read"] = len(frame)
    now = opts.now if opts.now is not None else pd.Timestamp.now(tz=S.TIMEZONE)

    if kind in ("cleansing", "enforcement"):
        report["maps_digest"] = maps_digest()
        out, rejects = _cases(kind, frame, lines, opts, report, name, now)
    elif kind == "spend":
        out, rejects = _spend(frame, lines, opts, report, name)
    else:
        out, rejects = _population(frame, lines, opts, report)

    _reject_too_long(frame, rejects)
    keep = ~rejects.bad
    if keep.all():  # nothing rejected: the frame is already ours, no need to copy it
        out["source_line"] = lines
    else:
        out = out[keep].copy()
        out["source_line"] = lines[keep]
        out = out.reset_index(drop=True)
    rej = rejects.frame()
    report["rows_accepted"] = len(out)
    report["rows_rejected"] = int(rejects.bad.sum())
    report["rows_warned"] = int(rej.loc[rej["severity"] == "warning", "source_line"].nunique())
    report["rules"] = {str(k): int(v) for k, v in rej["rule"].value_counts().items()}
    return Extract(kind=kind, frame=out, rejects=rej, report=report)
