"""Safe exports for spreadsheet users: CSV and XLSX without formula injection.

Rule (notes/reliability.md §3, OWASP ASVS 1.2.10): a *text* cell whose first character is one of
``= + - @``, tab, carriage return or NUL is prefixed with ``'`` in CSV, so Excel shows it as text
instead of evaluating it. Numbers stay numbers (a negative amount is not text and is untouched).
In XLSX the prefix would be visible, so text cells are instead written with an explicit string
type (openpyxl ``data_type = "s"``), which Excel never evaluates.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["FORMULA_PREFIXES", "atomic_write_bytes", "neutralise_formulas", "to_csv_bytes"]
__all__ += ["to_xlsx_bytes"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\0")


def _is_text_column(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


def _neutralise_value(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells that a spreadsheet would read as a formula.

    Only text cells change (in text or mixed ``object`` columns); numeric, boolean and datetime
    columns, and non-string values in object columns, are left as they are. Column names that
    look like formulas are neutralised too.

    Parameters
    ----------
    df
        Any frame.

    Returns
    -------
    pandas.DataFrame
        A copy.

    Examples
    --------
    >>> out = neutralise_formulas(pd.DataFrame({"v": ["=1+1", "ok"], "n": [-5.0, 1.0]}))
    >>> out["v"].tolist(), out["n"].tolist()
    (["'=1+1", 'ok'], [-5.0, 1.0])
    """
    out = df.copy()
    for col in out.columns:
        if _is_text_column(out[col]):
            out[col] = out[col].map(_neutralise_value, na_action="ignore")
    out.columns = [_neutralise_value(c) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM so Excel reads accents, no index) with formulas neutralised.

    Parameters
    ----------
    df
        Any frame.

    Returns
    -------
    bytes

    Floats are written with 15 significant digits, which every double holds exactly: the
    binary noise of sums and shares (``48099.94000000001``, ``29864.0``) does not reach the
    file, and no value changes beyond that noise.

    Examples
    --------
    >>> to_csv_bytes(pd.DataFrame({"v": ["@SUM(1)"], "n": [-5]})).decode("utf-8-sig")
    "v,n\\n'@SUM(1),-5\\n"
    >>> to_csv_bytes(pd.DataFrame({"gbp": [48099.94000000001, 29864.0]})).decode("utf-8-sig")
    'gbp\\n48099.94\\n29864\\n'
    """
    out = neutralise_formulas(df)
    return out.to_csv(index=False, lineterminator="\n", float_format="%.15g").encode("utf-8-sig")


def to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """XLSX with every text cell stored as a literal string (never a formula).

    Text cells are not prefixed (in XLSX the ``'`` would be visible); their cell type is forced
    to string instead. Control characters XLSX cannot store (NUL and others) become U+FFFD. Time-zone-aware timestamps are written as local wall time (Excel has no
    time zones).

    Parameters
    ----------
    df
        Any frame.
    sheet_name
        Worksheet name.

    Returns
    -------
    bytes

    Examples
    --------
    >>> data = to_xlsx_bytes(pd.DataFrame({"v": ["=1+1"]}))
    >>> data[:2]
    b'PK'
    """
    from openpyxl import Workbook

    frame = df.copy()
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_localize(None)
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name
    ws.append([str(c) for c in frame.columns])
    for cell in ws[1]:
        cell.data_type = "s"
    for row in frame.itertuples(index=False, name=None):
        values = [None if _missing(v) else _plain(v) for v in row]
        ws.append(values)
        for cell, value in zip(ws[ws.max_row], values, strict=True):
            if isinstance(value, str):
                cell.value = value
                cell.data_type = "s"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: object) -> object:
    if isinstance(value, str):
        # Control characters XLSX cannot hold (NUL, ...) become U+FFFD, visibly.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return value.item()  # numpy scalar → Python scalar
        except (AttributeError, ValueError):
            return value
    if isinstance(value, bytes | bytearray | dict | list | tuple):
        return str(value)
    return value


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, replace).

    Parameters
    ----------
    path
        Target file; its folder must exist.
    data
        The bytes.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> p = atomic_write_bytes(Path(tempfile.mkdtemp()) / "x.csv", b"a\\n")
    >>> p.read_bytes()
    b'a\\n'
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target
