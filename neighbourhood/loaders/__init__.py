"""Read one extract (bytes + file name + kind) into a canonical frame and a rejects report.

This package implements the "Loader contract" in ``docs/architecture.md``; the decisions it takes
(aliases, date rules, duplicates, rule codes) are written down in ``docs/loaders.md``.

The pipeline for one file is:

1. **Container**: gzip / zip / xlsx are recognised by their magic bytes and unpacked with a cap on
   the decompressed size (``ReadOptions.max_bytes``); anything else that is not text is refused.
2. **Text**: the encoding is detected (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252,
   then charset-normalizer) and the delimiter sniffed from the header line.
3. **Header**: raw headers are matched to fields by the analyst's map, then the exact aliases
   (:data:`COLUMN_ALIASES`), then their words with a score (:mod:`neighbourhood.headers`);
   ties are refused, never guessed. Personal columns are dropped, others ignored; both are
   reported with the reason. Missing required columns and duplicate headers refuse the file.
4. **Values**: every column is read as text and coerced column by column, vectorised, into the
   canonical types. Each failure becomes a row of the rejects report with a stable rule code
   from :data:`RULES`. Only a problem in a field that defines the case (reference, start date,
   type, location) is an ``error`` that removes the row; any other leaves that field empty with
   a ``warning`` (the row policy, ``docs/loaders.md``).

The package's files follow the read path, each a page or two:

- :mod:`~neighbourhood.loaders.base`: limits, rule codes, ``FileRefused``, ``ReadOptions``,
  ``Extract``, the rejects bookkeeping;
- :mod:`~neighbourhood.loaders.containers` (bytes): gzip, zip, workbooks, encodings;
- :mod:`~neighbourhood.loaders.table`: the CSV and workbook readers, lines of rows;
- :mod:`~neighbourhood.loaders.columns`: header aliases and matching (with
  :mod:`neighbourhood.headers`), personal columns;
- :mod:`~neighbourhood.loaders.values` and :mod:`~neighbourhood.loaders.dates`: text, numbers,
  coordinates, labels and dates, column by column;
- :mod:`~neighbourhood.loaders.rows`: per kind, what rejects a row (the row policy);
- :mod:`~neighbourhood.loaders.report`: :func:`read_extract`, the entry point.

Every name other modules import from ``neighbourhood.loaders`` is imported here. Patch a
function where it is used (``neighbourhood.loaders.table._read_c``), not here; the label tables'
paths are read from :mod:`~neighbourhood.loaders.base` at each call, so patch them there.
"""

from __future__ import annotations

# ruff: noqa: F401 (the package re-exports what other modules import from it)
from neighbourhood.loaders import base, columns, containers, dates, report, rows, table, values
from neighbourhood.loaders.base import (
    BNG_BOUNDS,
    CATEGORY_MAP_PATH,
    DATA_DIR,
    DEFAULT_MAX_BYTES,
    EARLIEST,
    FILE_RULES,
    LOADER_KINDS,
    MAX_CELL_CHARS,
    RULES,
    UK_BOUNDS,
    VALUE_MAP_PATH,
    Extract,
    FileRefused,
    ReadOptions,
    drop_warnings_of_rejected_rows,
    normalise_label,
    options_key,
)
from neighbourhood.loaders.columns import COLUMN_ALIASES, _match_header
from neighbourhood.loaders.containers import (
    _UTF8_MULTIBYTE,
    REFUSED_SUFFIXES,
    _count_byte,
    _cp1252_to_utf8,
    _first_utf8_multibyte,
    _high_bytes,
    _valid_utf8,
)
from neighbourhood.loaders.dates import (
    _FAST_TZ_RANGE,
    EXCEL_SERIAL,
    _localise,
    _localise_pandas,
    date_option,
)
from neighbourhood.loaders.report import read_extract
from neighbourhood.loaders.rows import DUPLICATE_LAST, DUPLICATE_NEWEST, _all_distinct, _max_bytes
from neighbourhood.loaders.values import (
    _bng_transformer,
    _category_lookup,
    _map_labels,
    _nothing_to_trim,
    label_variants,
    load_category_map,
    load_value_map,
    maps_digest,
)

__all__ = [
    "COLUMN_ALIASES",
    "FILE_RULES",
    "RULES",
    "UK_BOUNDS",
    "Extract",
    "FileRefused",
    "ReadOptions",
    "load_category_map",
    "load_value_map",
    "EXCEL_SERIAL",
    "date_option",
    "drop_warnings_of_rejected_rows",
    "label_variants",
    "maps_digest",
    "normalise_label",
    "options_key",
    "read_extract",
]
