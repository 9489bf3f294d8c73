"""Columns: the header aliases, personal columns and the matching of a file's headers to fields (with headers.py).

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

import functools
from typing import Any, Final

from neighbourhood import headers
from neighbourhood import schemas as S
from neighbourhood.loaders.base import FileRefused, ReadOptions, normalise_label

_COMMON_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "latitude": ("latitude", "lat", "wgs84 latitude", "latitude wgs84", "location latitude"),
    "longitude": (
        "longitude",
        "lon",
        "lng",
        "long",
        "wgs84 longitude",
        "longitude wgs84",
        "location longitude",
    ),
    "easting": ("easting", "eastings", "os easting", "grid easting", "bng easting", "x bng"),
    "northing": ("northing", "northings", "os northing", "grid northing", "bng northing", "y bng"),
    "ward_code": (
        "ward code",
        "wardcode",
        "ward id",
        "ons ward code",
        "ward ons code",
        "ward gss code",
        "electoral ward code",
        "electoral wards and divisions code",
        "wd24cd",
        "wd23cd",
        "wd22cd",
        "wd21cd",
        "wd20cd",
        "wd19cd",
    ),
    "ward_name": (
        "ward name",
        "wardname",
        "ward",
        "electoral ward",
        "electoral wards and divisions",
        "wd24nm",
        "wd23nm",
        "wd22nm",
        "wd21nm",
        "wd20nm",
        "wd19nm",
    ),
    "updated_at": (
        "updated at",
        "updated",
        "last updated",
        "last update",
        "date updated",
        "updated date",
        "updated datetime",
        "last modified",
        "date modified",
        "modified",
        "resolution action updated date",
    ),
}


COLUMN_ALIASES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "cleansing": {
        "case_id": (
            "case id",
            "case ref",
            "case reference",
            "case number",
            "case no",
            "service request id",
            "service request number",
            "service request ref",
            "request id",
            "request number",
            "sr number",
            "sr id",
            "unique key",
            "report id",
            "problem id",
            "incident id",
            "incident number",
            "enquiry id",
            "enquiry number",
            "job id",
            "job number",
            "job ref",
            "reference number",
            "reference",
            "ref",
            "id",
        ),
        "category": (
            "category",
            "request type",
            "complaint type",
            "service request type",
            "problem type",
            "issue type",
            "incident type",
            "enquiry type",
            "report type",
            "service type",
            "service name",
            "subcategory",
            "sub category",
            "type",
        ),
        "reported_at": (
            "reported at",
            "date received",
            "received date",
            "received",
            "date reported",
            "reported date",
            "reported",
            "created date",
            "created at",
            "date created",
            "created",
            "date logged",
            "logged date",
            "requested datetime",
            "open date",
            "date opened",
            "opened",
            "report date",
            "incident date",
            "date",
        ),
        "closed_at": (
            "closed at",
            "closed date",
            "date closed",
            "closed",
            "closure date",
            "completed date",
            "date completed",
            "completion date",
            "resolved date",
            "date resolved",
            "fixed date",
            "date fixed",
            "fixed",
            "cleared date",
            "date cleared",
        ),
        "status": ("status", "case status", "request status", "current status", "state"),
        "street": ("street", "street name", "road name", "road"),
        "size": ("size", "size band", "waste size", "load size", "fly tipping size", "quantity"),
        "cost_gbp": (
            "cost gbp",
            "cost",
            "clearance cost",
            "removal cost",
            "cost of clearance",
            "cost of removal",
        ),
        "channel": (
            "channel",
            "source",
            "reported via",
            "report channel",
            "open data channel type",
            "contact method",
            "method",
            "device type",
        ),
        **_COMMON_ALIASES,
    },
    "enforcement": {
        "case_id": (
            "case id",
            "enforcement id",
            "action id",
            "case ref",
            "case reference",
            "case number",
            "fpn number",
            "fpn reference",
            "notice number",
            "notice reference",
            "reference number",
            "reference",
            "ref",
            "id",
        ),
        "offence": (
            "offence",
            "offense",
            "offence type",
            "offence category",
            "type of offence",
            "offence description",
        ),
        "action": (
            "action",
            "action type",
            "enforcement action",
            "action taken",
            "notice type",
            "sanction",
        ),
        "issued_at": (
            "issued at",
            "date issued",
            "issue date",
            "issued",
            "action date",
            "date of action",
            "served date",
            "date served",
            "offence date",
            "date",
        ),
        "outcome": (
            "outcome",
            "result",
            "case outcome",
            "court outcome",
            "payment status",
            "status",
        ),
        "outcome_at": (
            "outcome at",
            "outcome date",
            "date of outcome",
            "result date",
            "paid date",
            "payment date",
            "date paid",
            "hearing date",
            "court date",
        ),
        "amount_gbp": (
            "amount gbp",
            "amount",
            "fine",
            "fine amount",
            "penalty",
            "penalty amount",
            "fpn amount",
            "fee",
            "value",
        ),
        "linked_case_id": (
            "linked case id",
            "linked case",
            "related case",
            "related case id",
            "cleansing case id",
            "service request id",
            "original case",
            "parent case",
        ),
        **_COMMON_ALIASES,
    },
    "spend": {
        "ward_code": (
            "ward code",
            "wardcode",
            "ward id",
            "ons ward code",
            "wd23cd",
            "ward",
            "area code",
            "area",
        ),
        "period_start": (
            "period start",
            "start date",
            "date from",
            "period from",
            "from",
            "start",
            "month",
            "period",
            "date",
        ),
        "period_end": ("period end", "end date", "date to", "period to", "to", "end"),
        "programme": (
            "programme",
            "program",
            "scheme",
            "project",
            "initiative",
            "funding stream",
            "budget line",
            "budget",
        ),
        "service": ("service", "service area", "function", "category", "type"),
        "amount_gbp": (
            "amount gbp",
            "amount",
            "spend gbp",
            "spend",
            "expenditure",
            "net amount",
            "actual",
            "actuals",
            "cost",
            "value",
            "gbp",
        ),
    },
    "population": {
        "ward_code": (
            "ward code",
            "wardcode",
            "ward id",
            "ons ward code",
            "electoral wards and divisions code",
            "wd24cd",
            "wd23cd",
            "wd22cd",
            "wd21cd",
            "wd20cd",
            "wd19cd",
            "geography code",
            "area code",
            "gss code",
            "code",
        ),
        "ward_name": (
            "ward name",
            "wardname",
            "ward",
            "electoral wards and divisions",
            "wd24nm",
            "wd23nm",
            "wd22nm",
            "wd21nm",
            "wd20nm",
            "wd19nm",
            "area name",
            "geography",
            "name",
        ),
        "population": (
            "population",
            "total population",
            "usual residents",
            "all usual residents",
            "usual resident population",
            "all ages",
            "residents",
            "persons",
            "pop",
        ),
        "year": ("year", "mid year", "census year"),
    },
}
"""Header aliases per kind: ``{kind: {canonical: (alias, ...)}}``, matched after normalisation.

Deliberately absent: bare ``x``/``y`` (taken only when no other coordinate columns exist, see
``_XY_ALIASES``), ``Observation`` (ONS census outputs use it for densities as well as counts) and
any column that is in a foreign grid (``X Coordinate (State Plane)``)."""


_XY_ALIASES: Final[dict[str, str]] = {"x": "x", "y": "y", "x coordinate": "x", "y coordinate": "y"}


# Personal data: unmatched columns whose normalised name has one of these words are dropped as
# personal (never stored) and reported in report["dropped_personal_columns"].
_PERSONAL_WORDS: Final[frozenset[str]] = frozenset(
    {
        "email",
        "e mail",
        "phone",
        "telephone",
        "tel",
        "mobile",
        "surname",
        "forename",
        "firstname",
        "lastname",
        "dob",
        "birth",
        "address",
        "postcode",
        "reporter",
        "complainant",
        "offender",
        "customer",
        "contact",
        "resident",
        "owner",
        "driver",
        "notes",
        "note",
        "comment",
        "comments",
        "description",
        "details",
        "detail",
        "text",
        "title",
        "registration",
        "vrm",
        "nino",
        "witness",
        "person",
        "photo",
    }
)


_PERSONAL_NAME_PREFIXES: Final[frozenset[str]] = frozenset(
    {"first", "last", "full", "user", "given", "family", "officer", "staff", "middle", "maiden"}
)


@functools.lru_cache(maxsize=8)
def _alias_lookup(kind: str) -> dict[str, tuple[str, int]]:
    lookup: dict[str, tuple[str, int]] = {}
    for canonical, aliases in COLUMN_ALIASES[kind].items():
        for rank, alias in enumerate((canonical, *aliases)):
            key = normalise_label(alias)
            if key in lookup and lookup[key][0] != canonical:
                raise ValueError(f"alias {alias!r} maps to two columns in {kind}")
            lookup.setdefault(key, (canonical, rank))
    return lookup


def _is_personal(norm: str) -> bool:
    words = norm.split()
    if not words:
        return False
    if norm in _PERSONAL_WORDS or any(w in _PERSONAL_WORDS for w in words):
        return True
    if words[-1] == "by" and len(words) > 1:  # "Reported By", "Closed By": a person
        return True
    if words[-1] == "name" and (len(words) == 1 or words[-2] in _PERSONAL_NAME_PREFIXES):
        return True
    return norm in {"e mail", "date of birth", "house number", "flat number"}


def _user_map(kind: str, opts: ReadOptions) -> dict[str, str]:
    """The analyst's column map (``column_map`` and a saved profile's ``saved_map``), keyed by
    normalised header, targets resolved from plain names ("case reference") to fields."""
    user: dict[str, str] = {}
    for source in (opts.saved_map, opts.column_map):
        for raw, target in (source or {}).items():
            field = headers.resolve_field(str(target), kind)
            if field is None or (field and field not in COLUMN_ALIASES[kind]):
                choices = ", ".join(repr(v) for v in headers.FIELD_NAMES[kind].values())
                raise FileRefused(
                    "F_OPTIONS",
                    f"The column map names {target!r}, which is not a field of a {kind} "
                    f"extract. The fields are: {choices} (or 'ignore').",
                )
            user[normalise_label(raw)] = field
    return user


def _check_map_present(header: list[str], opts: ReadOptions) -> None:
    """Refuse a ``column_map`` that names a column the file does not have (a typo in --map).

    A saved profile's map (``saved_map``) is not checked: next month's file may lack a column.
    """
    if not opts.column_map:
        return
    present = {normalise_label(h) for h in header}
    missing = [k for k in opts.column_map if normalise_label(k) not in present]
    if missing:
        shown = ", ".join(repr(h) for h in header[:20])
        raise FileRefused(
            "F_OPTIONS",
            f"The column map names {', '.join(repr(m) for m in missing)}, which the file "
            f"does not have. Its columns are: {shown}.",
        )


def _unmatched_reason(raw: str, kind: str) -> str:
    words, _ = headers.header_words(raw)
    known = headers.known_words(kind)
    foreign = [w for w in words if w not in known]
    if not words:
        return "it has no heading"
    if foreign:
        shown = ", ".join(repr(w) for w in dict.fromkeys(foreign))
        return f"no {kind} field has the word(s) {shown}"
    return f"its words fit no single {kind} field"


def _match_header(
    header: list[str], kind: str, opts: ReadOptions, report: dict[str, Any]
) -> dict[int, str]:
    """Map column positions to canonical names; fill the header parts of the report.

    Each header gets its best field: the analyst's map, then an exact alias (score 1000 minus
    its rank), then the word match of :mod:`neighbourhood.headers`. Each field takes its
    best-scoring header; ties are recorded in ``report["ambiguous_columns"]`` (and refused by
    :func:`_check_required`), never guessed.
    """
    lookup = _alias_lookup(kind)
    user = _user_map(kind, opts)
    plain = functools.partial(headers.plain_field, kind)
    cands: dict[str, list[tuple[int, int]]] = {}  # field -> [(score, position)]
    why: dict[str, str] = {}
    ignored: list[str] = []
    personal: list[str] = []
    ambiguous: list[dict[str, Any]] = []
    for pos, raw in enumerate(header):
        norm = normalise_label(raw)
        if norm in user:
            if user[norm]:
                cands.setdefault(user[norm], []).append((10_000, pos))
            else:
                ignored.append(raw)
                why[raw] = "left out, as the column map asks"
            continue
        hit = lookup.get(norm)
        if hit is not None:
            cands.setdefault(hit[0], []).append((1000 - hit[1], pos))
            continue
        if norm in _XY_ALIASES:
            cands.setdefault("_" + _XY_ALIASES[norm], []).append((1000, pos))
            continue
        scored = headers.score_header(raw, kind)
        if not scored:
            if _is_personal(norm):
                personal.append(raw)
                why[raw] = "personal data: never read or stored"
            elif norm:
                ignored.append(raw)
                why[raw] = _unmatched_reason(raw, kind)
            continue
        top = [f for f, sc in scored if sc == scored[0][1]]
        if len(top) > 1:
            ambiguous.append({"columns": [raw], "fields": [plain(f) for f in top]})
            why[raw] = "could be " + " or ".join(plain(f) for f in top)
            continue
        cands.setdefault(scored[0][0], []).append((scored[0][1], pos))
    best: dict[str, int] = {}
    for fld, found in cands.items():
        found.sort(key=lambda sp: (-sp[0], sp[1]))
        # exact aliases never tie (each has its own rank); two word matches are told apart
        # only by a core word more (10 points), never by context words alone
        top = found[0][0]
        tied = [
            header[p]
            for sc, p in sorted(found, key=lambda sp: sp[1])
            if sc == top or (top < 1000 and top - sc < 10)
        ]
        if len(tied) > 1:
            ambiguous.append({"columns": tied, "fields": [plain(fld)]})
            for raw in tied:
                why[raw] = f"one of {len(tied)} columns that could be the {plain(fld)}"
            continue
        best[fld] = found[0][1]
        for _, pos in found[1:]:
            ignored.append(header[pos])
            why[header[pos]] = (
                f"also looks like the {plain(fld)}, but {header[found[0][1]]!r} fits it better"
            )
    xy = {k: best.pop(k) for k in ("_x", "_y") if k in best}
    coord_cols = {"latitude", "longitude", "easting", "northing"}
    if len(xy) == 2 and not (coord_cols & set(best)) and kind in ("cleansing", "enforcement"):
        best.update(xy)
    else:
        for pos in xy.values():
            ignored.append(header[pos])
            why[header[pos]] = (
                "a bare X or Y is read only as a pair, and only when the file has no other "
                "coordinate columns"
            )
    mapping = {pos: canonical for canonical, pos in best.items()}
    report["columns"] = {header[p]: c for p, c in sorted(mapping.items())}
    order = {raw: i for i, raw in enumerate(header)}
    report["ignored_columns"] = sorted(ignored, key=lambda r: order.get(r, 0))
    report["dropped_personal_columns"] = personal
    report["ignored_why"] = {r: why[r] for r in header if r in why}
    report["ambiguous_columns"] = ambiguous
    return mapping


def _check_required(
    kind: str,
    mapped: set[str],
    header: list[str],
    ambiguous: list[dict[str, Any]] | None = None,
) -> None:
    if ambiguous:
        parts = []
        for item in ambiguous:
            cols = " and ".join(repr(c) for c in item["columns"])
            fields = " or ".join(repr(f) for f in item["fields"])
            parts.append(
                f"{cols} could each be the {fields}"
                if len(item["columns"]) > 1
                else f"{cols} could be the {fields}"
            )
        first = ambiguous[0]
        raise FileRefused(
            "F_AMBIGUOUS_COLUMNS",
            "Some columns could not be told apart, and the loader does not guess: "
            + "; ".join(parts)
            + ". Say which column is which (command line: --map "
            + f'"{first["columns"][0]}={first["fields"][0]}", or --map "COLUMN=ignore"; '
            "Load data page: the Columns table).",
        )
    required = list(S.REQUIRED[kind])
    if kind == "population":
        # metrics take each period's population by year; a ward name may stand for the code
        required = [c for c in required if c != "ward_code"]
        if not {"ward_code", "ward_name"} & mapped:
            required.append("ward_code")
    if kind in ("cleansing", "enforcement") and {"_x", "_y"} <= mapped:
        mapped = mapped | {"easting", "northing"}
    missing = [c for c in required if c not in mapped]
    if not missing:
        return
    hints = "; ".join(
        f"{c} (a header such as {', '.join(repr(a.title()) for a in COLUMN_ALIASES[kind][c][:3])})"
        for c in missing
    )
    shown = ", ".join(repr(h) for h in header[:12]) + (" …" if len(header) > 12 else "")
    extra = ""
    if kind == "population" and "population" in missing:
        likely, rates = headers.head_count_candidates(header)
        if rates:
            extra += (
                f" {', '.join(repr(r) for r in rates)} is a density, percentage or rate, not a "
                "head count, so it is not read as the population."
            )
        if likely:
            extra += (
                f" The head count is probably in {likely[0]!r} (check that it counts residents, "
                f'not a rate): --map "{likely[0]}=population".'
            )
    raise FileRefused(
        "F_MISSING_COLUMNS",
        f"Missing required column(s) for a {kind} extract: {hints}. "
        f"The file's columns are: {shown}.{extra} Rename a column in the file, or map it to the "
        'missing one (command line: --map "COLUMN=field"; Load data page: the Columns table; '
        "Python: ReadOptions(column_map=...)).",
    )


def _refuse_duplicates(header: list[str]) -> None:
    seen: dict[str, str] = {}
    dups: list[str] = []
    for raw in header:
        key = raw.strip().lower()
        if not key:
            continue
        if key in seen:
            dups.append(raw)
        seen[key] = raw
    if dups:
        raise FileRefused(
            "F_DUPLICATE_HEADER",
            f"The header repeats column name(s) {sorted(set(dups))}; every column needs its own "
            "name so that values are not silently merged.",
        )
