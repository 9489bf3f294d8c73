"""Table: the CSV (pyarrow, or the pandas C engine) and .xlsx readers, every cell as text, with the physical line of each row.

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import numpy as np
import pandas as pd

from neighbourhood.loaders.base import FileRefused, ReadOptions
from neighbourhood.loaders.columns import (
    _check_map_present,
    _check_required,
    _match_header,
    _refuse_duplicates,
)
from neighbourhood.loaders.containers import _count_byte, _decode, _looks_binary, _sniff_delimiter


def _read_csv(
    data: bytes, opts: ReadOptions, kind: str, report: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray]:
    encoding, utf8 = _decode(data, opts)
    report["encoding"] = encoding
    if b"\n" not in utf8 and b"\r" in utf8:
        # Old Mac line ends (Excel's "CSV (Macintosh)"): a lone CR ends every line.
        utf8 = utf8.replace(b"\r", b"\n")
        report["line_ends"] = "cr"
    text = utf8[:1_000_000].decode("utf-8", errors="ignore")
    if _looks_binary(text):
        raise FileRefused("F_BINARY", "The file is mostly control characters: it is not text.")
    if re.search(rb"\S", utf8[:1_000_000]) is None and not utf8[1_000_000:].strip():
        raise FileRefused("F_EMPTY", "The file is empty.")
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = opts.delimiter or _sniff_delimiter(first_line)
    report["delimiter"] = delimiter
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise FileRefused("F_MALFORMED", f"The header line could not be read ({exc}).") from None
    header = [h.replace("\ufeff", "").strip() for h in header]
    _refuse_duplicates(header)
    mapping = _match_header(header, kind, opts, report)
    _check_map_present(header, opts)
    try:
        _check_required(kind, set(mapping.values()), header, report["ambiguous_columns"])
    except FileRefused as exc:
        line = _header_further_down(text, kind, opts)
        if line is None:
            raise
        raise FileRefused(
            exc.code,
            f"The column headings seem to be on line {line}, below title or blank lines: delete "
            f"the lines above them and load the file again. ({exc.message})",
        ) from None

    usecols = sorted(mapping)
    physical = _count_byte(utf8, 0x0A) + (0 if utf8.endswith(b"\n") else 1)
    frame = _read_arrow(utf8, len(header), usecols, delimiter)
    lines: np.ndarray | None = None
    if frame is not None and physical == len(frame) + 1:
        lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    elif frame is not None and b'"' in utf8:
        # Newlines inside quoted values (free-text columns): count them with pyarrow rather
        # than re-reading the whole file with the much slower C engine.
        lines = _arrow_lines(utf8, len(header), delimiter, physical, len(frame))
    if frame is None or lines is None:
        # Blank lines, newlines inside quoted fields or ragged rows: the C engine keeps every
        # line, so the physical line of each row can be worked out.
        frame, lines = _read_c(utf8, len(header), usecols, delimiter)
    frame.columns = [mapping[c] for c in usecols]
    for col in frame.columns:
        if frame[col].dtype == object and frame[col].map(type).eq(bytes).any():
            raise FileRefused("F_ENCODING", f"Column {col} came back as bytes, not text.")
    return frame, lines


def _header_further_down(text: str, kind: str, opts: ReadOptions) -> int | None:
    """The line (2-20) whose cells would satisfy the required columns, if the first does not."""
    lines = text.splitlines()[1:20]
    for number, line in enumerate(lines, start=2):
        sep = opts.delimiter or _sniff_delimiter(line)  # the title line may have no delimiter
        try:
            cells = next(csv.reader([line], delimiter=sep), [])
        except csv.Error:
            continue
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        found: dict[str, Any] = {}
        mapping = _match_header(cells, kind, opts, found)
        try:
            _check_required(kind, set(mapping.values()), cells, found["ambiguous_columns"])
        except FileRefused:
            continue
        return number
    return None


def _xlsx_header_further_down(ws: Any, kind: str, opts: ReadOptions) -> int | None:
    """The row (2-20) of a worksheet whose cells would satisfy the required columns."""
    for number, row in enumerate(ws.iter_rows(min_row=2, max_row=20, values_only=True), start=2):
        cells = ["" if v is None else str(v).strip() for v in row]
        if not any(cells):
            continue
        found: dict[str, Any] = {}
        mapping = _match_header(cells, kind, opts, found)
        try:
            _check_required(kind, set(mapping.values()), cells, found["ambiguous_columns"])
        except FileRefused:
            continue
        return number
    return None


def _read_arrow(utf8: bytes, ncols: int, usecols: list[int], delimiter: str) -> pd.DataFrame | None:
    """Fast path: pyarrow's multi-threaded reader, every column as text. None if it balks."""
    import pyarrow as pa
    import pyarrow.csv as pv

    names = [f"c{i}" for i in range(ncols)]
    try:
        table = pv.read_csv(
            pa.BufferReader(utf8),  # zero-copy; a BytesIO would be copied block by block
            # 16 MB blocks: a quarter less CPU than the 1 MB default, still parallel on big files.
            read_options=pv.ReadOptions(
                column_names=names, skip_rows=1, encoding="utf8", block_size=1 << 24
            ),
            parse_options=pv.ParseOptions(
                delimiter=delimiter, newlines_in_values=b'"' in utf8, ignore_empty_lines=True
            ),
            convert_options=pv.ConvertOptions(
                # large_string is what pandas' str dtype holds: to_pandas() copies nothing.
                column_types={names[i]: pa.large_string() for i in usecols},
                include_columns=[names[i] for i in usecols],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # One contiguous array per column (the reader gives one chunk per block), combined a column
    # at a time so that the peak holds one extra column, not a second table.
    columns = [table.column(i) for i in range(table.num_columns)]
    del table
    for i, col in enumerate(columns):
        columns[i] = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    frame = pa.table(columns, names=[str(c) for c in usecols]).to_pandas()
    frame.columns = usecols
    return frame


def _arrow_lines(
    utf8: bytes, ncols: int, delimiter: str, physical: int, nrows: int
) -> np.ndarray | None:
    """Physical line of each row from the newlines inside values, or None if that cannot tell.

    Every column is read (a newline in an ignored column moves the lines too). The answer is used
    only when the newlines inside values account for every line of the file exactly; blank lines
    or ``\r``-only line ends leave a difference and the caller falls back to the C engine.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    names = [f"c{i}" for i in range(ncols)]
    try:
        table = pv.read_csv(
            pa.BufferReader(utf8),
            read_options=pv.ReadOptions(
                column_names=names, skip_rows=1, encoding="utf8", block_size=1 << 24
            ),
            parse_options=pv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != nrows:
        return None
    extra = np.zeros(nrows, dtype=np.int64)
    for i in range(table.num_columns):
        counts = pc.fill_null(pc.count_substring(table.column(i), "\n"), 0)
        extra += counts.to_numpy().astype(np.int64, copy=False)
    del table
    if physical != nrows + 1 + int(extra.sum()):
        return None
    lines = 2 + np.arange(nrows, dtype=np.int64)
    lines[1:] += np.cumsum(extra)[:-1]
    return lines


_C_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _record_line(utf8: bytes, record: int) -> int:
    """The physical line on which record ``record`` (1 = the header) starts.

    pandas counts records in its messages; a quoted value holding a line break makes the two
    differ. A line break ends a record when an even number of quotes comes before it.
    """
    data = np.frombuffer(utf8, dtype=np.uint8)
    breaks = np.flatnonzero(data == 0x0A)
    quotes = np.flatnonzero(data == 0x22)
    ends = np.flatnonzero(np.searchsorted(quotes, breaks) % 2 == 0)  # indices into breaks
    if record < 2 or record - 2 >= len(ends):
        return record
    return int(ends[record - 2]) + 2


def _parser_message(text: str, utf8: bytes | None = None) -> str:
    """pandas' C-parser error in plain words ("Line 3 has 17 fields where the header has 15").

    Examples
    --------
    >>> _parser_message("Error tokenizing data. C error: Expected 15 fields in line 3, saw 17\\n")
    'The file is not a regular table: line 3 has 17 fields where the header has 15. Check that line for an extra separator, or a value with a separator in it that is not in quotes.'
    """
    found = _C_FIELDS.search(text)
    if found:
        header, line, saw = (int(g) for g in found.groups())
        if utf8 is not None:
            line = _record_line(utf8, line)
        return (
            # plain line numbers, as in every other message (stream._shifted moves them)
            f"The file is not a regular table: line {line} has {saw} fields where the "
            f"header has {header}. Check that line for an extra separator, or a value with a "
            "separator in it that is not in quotes."
        )
    return f"The file is not a regular table: {text.strip()[:300]}"


def _read_c(
    utf8: bytes, ncols: int, usecols: list[int], delimiter: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The pandas C engine, keeping blank lines, with the physical line of every row."""
    try:
        full = pd.read_csv(
            io.BytesIO(utf8),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            index_col=False,
            encoding="utf-8",
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise FileRefused("F_MALFORMED", _parser_message(str(exc), utf8)) from None
    if full.shape[1] != ncols:
        raise FileRefused(
            "F_MALFORMED", "The rows have a different number of fields from the header."
        )
    n = len(full)
    extra = np.zeros(n, dtype=np.int64)
    for col in full.columns:
        values = full[col]
        has_nl = values.str.contains("\n", regex=False).fillna(False).to_numpy(bool)
        if has_nl.any():
            extra += values.str.count("\n").fillna(0).to_numpy(np.int64)
    # physical line of row i (the header is row 0, line 1) = 1 + i + newlines in earlier rows
    lines = 1 + np.arange(n, dtype=np.int64)
    lines[1:] += np.cumsum(extra)[:-1]
    full = full.iloc[1:].reset_index(drop=True)
    lines = lines[1:]
    return full[usecols], lines


def _read_xlsx(
    data: bytes, opts: ReadOptions, kind: str, report: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray]:
    import openpyxl

    report["encoding"] = "xlsx"
    report["delimiter"] = None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise FileRefused("F_MALFORMED", f"The workbook could not be opened ({exc}).") from None
    try:
        names = book.sheetnames
        if opts.sheet is not None:
            chosen = names[opts.sheet] if isinstance(opts.sheet, int) else opts.sheet
            if chosen not in names:
                raise FileRefused("F_OPTIONS", f"The workbook has no sheet {opts.sheet!r}.")
            candidates = [chosen]
        else:
            candidates = names
        picked: tuple[str, list[str], dict[int, str], dict[str, Any]] | None = None
        for sheet in candidates:
            rows = book[sheet].iter_rows(min_row=1, max_row=1, values_only=True)
            first = next(rows, None)
            header = ["" if v is None else str(v).strip() for v in (first or ())]
            sub: dict[str, Any] = {}
            mapping = _match_header(header, kind, opts, sub)
            try:
                _check_required(kind, set(mapping.values()), header, sub["ambiguous_columns"])
            except FileRefused:
                if picked is None:
                    picked = (sheet, header, mapping, sub)
                continue
            picked = (sheet, header, mapping, sub)
            break
        if picked is None:
            raise FileRefused("F_NO_ROWS", "The workbook has no sheets.")
        sheet, header, mapping, sub = picked
        _refuse_duplicates(header)
        report.update(sub)
        report["sheet"] = sheet
        _check_map_present(header, opts)
        try:
            _check_required(kind, set(mapping.values()), header, sub["ambiguous_columns"])
        except FileRefused as exc:
            # As for a CSV: headings below title rows are pointed to, never skipped silently.
            row = _xlsx_header_further_down(book[sheet], kind, opts)
            if row is None:
                raise
            raise FileRefused(
                exc.code,
                f"The column headings of sheet {sheet!r} seem to be on row {row}, below title "
                f"or blank rows: delete the rows above them and load the file again. "
                f"({exc.message})",
            ) from None
        rows_out: list[list[Any]] = []
        cols = sorted(mapping)
        for row in book[sheet].iter_rows(min_row=2, values_only=True):
            rows_out.append([row[c] if c < len(row) else None for c in cols])
    finally:
        book.close()
    frame = pd.DataFrame(rows_out, columns=[mapping[c] for c in cols], dtype=object)
    for col in frame.columns:
        values = frame[col]
        is_dt = values.map(lambda v: hasattr(v, "isoformat"))
        text = values.map(lambda v: None if v is None else str(v))
        if is_dt.any():
            text[is_dt] = values[is_dt].map(lambda v: v.isoformat(sep=" "))
        # Excel stores whole numbers as floats: 1234.0 -> "1234".
        is_float = values.map(lambda v: isinstance(v, float) and float(v).is_integer())
        if is_float.any():
            text[is_float] = values[is_float].map(lambda v: str(int(v)))
        frame[col] = text.replace("", None).astype("str")
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    return frame, lines
