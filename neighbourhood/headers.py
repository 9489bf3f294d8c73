"""Match a council's column headers to canonical fields by their words, with a score.

The loader first looks a header up in its exact alias table (``loaders.COLUMN_ALIASES``); this
module handles every header the table does not list, so that "Service Request No", "SR Ref",
"Date/Time Received" or "Easting (BNG)" are read without anyone adding them to a list.

How a header is read (``docs/loaders.md``, "Headers"):

1. **Words.** camelCase is split, ``#`` reads as "number", ``&`` as "and", ``£`` as "gbp", ``%``
   as "percent"; then lower case, every run of punctuation or spaces is one space.
2. **Brackets.** A part in brackets that only gives a unit, grid or format ("(BNG)", "(£)",
   "(dd/mm/yyyy)", "[m]") is dropped and noted; any other bracketed words count as words of the
   header ("Ward (ONS code)").
3. **Abbreviations** are expanded word by word (:data:`ABBREVIATIONS`: No/Nbr/Num/# → number,
   Ref → reference, Dt → date, SR → service request, Recd → received …).
4. **Matching.** A field is described by one or more *signatures* (:class:`Signature`): groups
   of core words, each of which must be met by a word of the header, and context words that may
   also appear. Words common to every field's headers ("Location", "Site", "Incident",
   "Customer", "Job", "Case" …, :data:`QUALIFIERS`) may appear anywhere. **Every word of the
   header must be accounted for**: a word that no field explains ("Officer" in "Officer No",
   "By" in "Reported By", "Density" in "Population Density") means no match.
5. **Score.** ``40 + 10 × core groups met + 2 × context words`` (minus 5 for a time-only
   column); an exact alias scores ``100 − its rank``, so exact aliases always win. The best
   score per header picks its field; two fields at the same best score for one header, or two
   headers at the same best score for one field, are *ambiguous* and never guessed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "ABBREVIATIONS",
    "FIELD_NAMES",
    "QUALIFIERS",
    "Signature",
    "head_count_candidates",
    "header_words",
    "looks_like_rate",
    "known_words",
    "plain_field",
    "resolve_field",
    "score_header",
]

ABBREVIATIONS: Final[dict[str, tuple[str, ...]]] = {
    "no": ("number",),
    "nos": ("number",),
    "nbr": ("number",),
    "num": ("number",),
    "nr": ("number",),
    "nmbr": ("number",),
    "numb": ("number",),
    "ref": ("reference",),
    "refs": ("reference",),
    "refno": ("reference", "number"),
    "reference": ("reference",),
    "dt": ("date",),
    "dte": ("date",),
    "dated": ("date",),
    "datetime": ("date", "time"),
    "timestamp": ("date", "time"),
    "tm": ("time",),
    "desc": ("description",),
    "descr": ("description",),
    "cat": ("category",),
    "categ": ("category",),
    "subcat": ("sub", "category"),
    "subcategory": ("sub", "category"),
    "subtype": ("sub", "type"),
    "recd": ("received",),
    "rcvd": ("received",),
    "recvd": ("received",),
    "rec": ("received",),
    "req": ("request",),
    "rqst": ("request",),
    "enq": ("enquiry",),
    "inquiry": ("enquiry",),
    "enquiries": ("enquiry",),
    "sr": ("service", "request"),
    "loc": ("location",),
    "coord": ("coordinate",),
    "coords": ("coordinate",),
    "coordinates": ("coordinate",),
    "co": ("coordinate",),  # "Co-ord": "co" "ord"
    "ord": (),
    "ords": (),
    "addr": ("address",),
    "tel": ("telephone",),
    "ph": ("telephone",),
    "phone": ("telephone",),
    "amt": ("amount",),
    "qty": ("quantity",),
    "typ": ("type",),
    "lat": ("latitude",),
    "lon": ("longitude",),
    "lng": ("longitude",),
    "long": ("longitude",),
    "eastings": ("easting",),
    "northings": ("northing",),
    "offense": ("offence",),
    "offences": ("offence",),
    "yr": ("year",),
    "pop": ("population",),
    "wd": ("ward",),
    "cd": ("code",),
    "nm": ("name",),
    "upd": ("updated",),
    "compl": ("completed",),
    "comp": ("completed",),
    "clsd": ("closed",),
    "stat": ("status",),
    "sts": ("status",),
    "grp": ("group",),
    "dept": ("department",),
    "fpns": ("fpn",),
    "programme": ("programme",),
    "program": ("programme",),
    "categories": ("category",),
    "types": ("type",),
    "wards": ("ward",),
    "streets": ("street",),
    "rd": ("road",),
    "id": ("id",),
    "ids": ("id",),
    "identifier": ("id",),
    "uid": ("unique", "id"),
    "closure": ("closed",),
    "completion": ("completed",),
    "resolution": ("resolved",),
    "gss": ("gss",),
    "pounds": ("gbp",),
    "sterling": ("gbp",),
}
"""Word → the words it stands for (an empty tuple drops the word)."""

QUALIFIERS: Final[frozenset[str]] = frozenset(
    {
        "location",
        "site",
        "incident",
        "customer",
        "job",
        "case",
        "crm",
        "the",
        "of",
        "a",
        "record",
        "item",
        "main",
        "primary",
        "current",
        "actual",
        "system",
        "and",
    }
)
"""Words any header may carry before or around its field's words (prefixes such as "Location
Easting", "Incident Ref", "Job No")."""

_BRACKET_UNITS: Final[frozenset[str]] = frozenset(
    {
        "bng",
        "osgb",
        "osgb36",
        "os",
        "british",
        "national",
        "grid",
        "epsg",
        "27700",
        "4326",
        "m",
        "metres",
        "meters",
        "metre",
        "wgs84",
        "wgs",
        "84",
        "degrees",
        "deg",
        "decimal",
        "dd",
        "mm",
        "yyyy",
        "yy",
        "hh",
        "ss",
        "utc",
        "gmt",
        "bst",
        "uk",
        "local",
        "gbp",
        "inc",
        "incl",
        "exc",
        "excl",
        "ex",
        "vat",
        "net",
        "gross",
        "optional",
        "text",
        "if",
        "known",
        "any",
        "e",
        "g",
        "eg",
        "x",
        "y",
        "easting",
        "northing",
        "latitude",
        "longitude",
        "date",
        "time",
        "format",
        "24h",
        "hrs",
    }
)
"""Words a bracketed part may hold and be dropped as a unit or a format note."""


@dataclass(frozen=True)
class Signature:
    """One way a header names a field: core word groups (each met once) and context words.

    Examples
    --------
    >>> Signature(({"reference", "number", "id"},), {"service", "request"}).groups[0] >= {"id"}
    True
    """

    groups: tuple[frozenset[str], ...]
    context: frozenset[str] = field(default_factory=frozenset)

    def __init__(self, groups: Iterable[Iterable[str]], context: Iterable[str] = ()) -> None:
        object.__setattr__(self, "groups", tuple(frozenset(g) for g in groups))
        object.__setattr__(self, "context", frozenset(context))


def _sig(*groups: Iterable[str], context: Iterable[str] = ()) -> Signature:
    return Signature(groups, context)


_DATE_WORDS = ("date", "time", "on", "at", "when", "day")
_REF = ("reference", "number", "id", "key")
_CASE_CONTEXT = (
    "service",
    "request",
    "enquiry",
    "complaint",
    "report",
    "problem",
    "issue",
    "defect",
    "fault",
    "ticket",
    "call",
    "log",
    "task",
    "work",
    "works",
    "order",
    "event",
    "unique",
    "crm",
    "unique",
    "external",
    "source",
    "our",
    "council",
    "la",
    "fly",
    "tipping",
)
_COORD_CONTEXT = (
    "coordinate",
    "reference",
    "bng",
    "os",
    "osgb",
    "osgb36",
    "grid",
    "british",
    "national",
    "map",
)
_WARD_CONTEXT = ("electoral", "division", "divisions", "and", "ons", "council", "admin")

_COMMON: Final[dict[str, tuple[Signature, ...]]] = {
    "latitude": (_sig({"latitude"}, context=("wgs84", "wgs", "decimal", "degrees", "y")),),
    "longitude": (_sig({"longitude"}, context=("wgs84", "wgs", "decimal", "degrees", "x")),),
    "easting": (_sig({"easting"}, context=(*_COORD_CONTEXT, "x", "metres")),),
    "northing": (_sig({"northing"}, context=(*_COORD_CONTEXT, "y", "metres")),),
    "_x": (_sig({"x"}, context=_COORD_CONTEXT),),
    "_y": (_sig({"y"}, context=_COORD_CONTEXT),),
    "ward_code": (
        _sig({"ward", "division"}, {"code", "id", "gss"}, context=_WARD_CONTEXT),
        _sig({"gss", "ons"}, {"code", "id"}, context=("ward",)),
    ),
    "ward_name": (_sig({"ward"}, context=(*_WARD_CONTEXT, "name", "title", "area")),),
    "updated_at": (
        _sig(
            {"updated", "update", "modified", "amended", "changed", "edited"},
            context=(*_DATE_WORDS, "last", "latest"),
        ),
    ),
}

FIELD_WORDS: Final[dict[str, dict[str, tuple[Signature, ...]]]] = {
    "cleansing": {
        "case_id": (_sig(_REF, context=_CASE_CONTEXT),),
        "category": (
            _sig(
                {"category", "type", "classification", "subject", "nature"},
                context=(
                    "request",
                    "complaint",
                    "service",
                    "problem",
                    "issue",
                    "enquiry",
                    "report",
                    "sub",
                    "detailed",
                    "work",
                    "defect",
                    "fault",
                    "main",
                    "cleansing",
                ),
            ),
        ),
        "reported_at": (
            _sig(
                {
                    "received",
                    "reported",
                    "raised",
                    "logged",
                    "created",
                    "opened",
                    "open",
                    "submitted",
                    "recorded",
                    "entered",
                    "requested",
                    "report",
                    "date",
                },
                context=(*_DATE_WORDS, "first", "initial", "request", "service", "complaint"),
            ),
        ),
        "closed_at": (
            _sig(
                {"closed", "completed", "resolved", "fixed", "cleared", "finished", "removed"},
                context=(*_DATE_WORDS, "request", "work", "works"),
            ),
        ),
        "status": (
            _sig(
                {"status", "state", "stage"}, context=("request", "service", "workflow", "overall")
            ),
        ),
        "street": (
            _sig({"street", "road", "thoroughfare"}, context=("name", "description", "nearest")),
        ),
        "size": (
            _sig(
                {"size", "band", "quantity", "volume", "extent"},
                context=("waste", "load", "fly", "tipping", "tip", "rubbish", "estimated"),
            ),
        ),
        "cost_gbp": (
            _sig(
                {"cost", "charge", "price"},
                context=("gbp", "clearance", "removal", "cleansing", "total", "estimated", "est"),
            ),
        ),
        "channel": (
            _sig(
                {"channel", "source", "method", "via", "medium", "route"},
                context=("reported", "report", "contact", "received", "request", "data", "type"),
            ),
        ),
        **_COMMON,
    },
    "enforcement": {
        "case_id": (
            _sig(
                _REF,
                context=(
                    *_CASE_CONTEXT,
                    "enforcement",
                    "fpn",
                    "pcn",
                    "notice",
                    "penalty",
                    "action",
                ),
            ),
        ),
        "offence": (
            _sig(
                {"offence", "contravention", "breach", "violation"},
                context=("type", "category", "description", "committed", "nature", "code"),
            ),
        ),
        "action": (
            _sig(
                {"action", "sanction", "notice", "disposal"},
                context=("type", "taken", "enforcement", "category", "issued", "outcome"),
            ),
        ),
        "issued_at": (
            _sig(
                {"issued", "issue", "served", "date"},
                context=(*_DATE_WORDS, "action", "notice", "fpn", "offence", "enforcement"),
            ),
        ),
        "outcome": (
            _sig(
                {"outcome", "result", "payment", "verdict", "status"},
                context=("court", "final", "fpn", "notice", "penalty", "status", "of", "case"),
            ),
        ),
        "outcome_at": (
            _sig(
                {"outcome", "result", "payment", "paid", "court", "hearing", "verdict", "closed"},
                {"date", "time", "on"},
                context=("of", "final"),
            ),
        ),
        "amount_gbp": (
            _sig(
                {"amount", "fine", "penalty", "fee", "charge", "value", "sum"},
                context=("gbp", "fpn", "notice", "fixed", "paid", "payable", "due", "total"),
            ),
        ),
        "linked_case_id": (
            _sig(
                {"linked", "related", "parent", "original", "associated", "originating"},
                _REF,
                context=_CASE_CONTEXT,
            ),
        ),
        **_COMMON,
    },
    "spend": {
        "ward_code": (
            _sig({"ward", "area", "division"}, context=("code", "id", "gss", "ons", "name")),
        ),
        "period_start": (
            _sig(
                {"start", "from", "month", "period", "beginning", "commencing", "date"},
                context=("period", "date", "of", "week", "month"),
            ),
        ),
        "period_end": (
            _sig({"end", "to", "until", "ending"}, context=("period", "date", "of", "month")),
        ),
        "programme": (
            _sig(
                {"programme", "scheme", "project", "initiative", "budget", "fund", "funding"},
                context=("name", "stream", "line", "title", "code"),
            ),
        ),
        "service": (_sig({"service", "function"}, context=("area", "type", "category", "name")),),
        "amount_gbp": (
            _sig(
                {"amount", "spend", "expenditure", "cost", "value", "actual", "actuals", "spent"},
                context=("gbp", "net", "gross", "total", "outturn"),
            ),
        ),
    },
    "population": {
        "ward_code": (
            _sig(
                {"code", "gss", "id"}, context=("ward", "geography", "area", "ons", *_WARD_CONTEXT)
            ),
        ),
        "ward_name": (
            _sig({"ward", "name", "geography", "area"}, context=("name", *_WARD_CONTEXT)),
        ),
        "population": (
            _sig(
                {"population", "residents", "persons", "people", "headcount"},
                context=("all", "usual", "resident", "total", "estimate", "mid", "ages", "count"),
            ),
        ),
        "year": (_sig({"year"}, context=("mid", "census", "estimate", "of", "reference")),),
    },
}
"""Signatures per kind and field (``_x``/``_y``: bare X/Y, read as a coordinate pair)."""

FIELD_NAMES: Final[dict[str, dict[str, str]]] = {
    "cleansing": {
        "case_id": "case reference",
        "category": "category",
        "reported_at": "reported date",
        "closed_at": "closed date",
        "status": "status",
        "latitude": "latitude",
        "longitude": "longitude",
        "easting": "easting",
        "northing": "northing",
        "ward_code": "ward code",
        "ward_name": "ward name",
        "street": "street",
        "size": "size",
        "cost_gbp": "cost",
        "channel": "channel",
        "updated_at": "last updated",
    },
    "enforcement": {
        "case_id": "case reference",
        "offence": "offence",
        "action": "action",
        "issued_at": "issued date",
        "outcome": "outcome",
        "outcome_at": "outcome date",
        "amount_gbp": "amount",
        "latitude": "latitude",
        "longitude": "longitude",
        "easting": "easting",
        "northing": "northing",
        "ward_code": "ward code",
        "ward_name": "ward name",
        "linked_case_id": "linked case reference",
        "updated_at": "last updated",
    },
    "spend": {
        "ward_code": "ward",
        "period_start": "period start",
        "period_end": "period end",
        "programme": "programme",
        "service": "service",
        "amount_gbp": "amount",
    },
    "population": {
        "ward_code": "ward code",
        "ward_name": "ward name",
        "population": "population",
        "year": "year",
    },
}
"""The field names people see (``--map "Ref No=case reference"``, the Load data page); the
internal names (``case_id``) are accepted too."""

_CAMEL: Final[re.Pattern[str]] = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_BRACKET: Final[re.Pattern[str]] = re.compile(r"[\(\[\{]([^\)\]\}]*)[\)\]\}]?")


def _words(text: str) -> list[str]:
    text = _CAMEL.sub(" ", text.replace("\ufeff", ""))
    text = text.replace("#", " number ").replace("&", " and ").replace("£", " gbp ")
    text = text.replace("%", " percent ")
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text.lower())
    out: list[str] = []
    for word in re.split(r"[^0-9a-z]+", text):
        if word:
            out.extend(ABBREVIATIONS.get(word, (word,)))
    return out


def header_words(raw: object) -> tuple[list[str], list[str]]:
    """The words a header is matched on, and the unit or format notes dropped from brackets.

    Parameters
    ----------
    raw : object
        The header as written.

    Returns
    -------
    (words, dropped)

    Examples
    --------
    >>> header_words("Easting (BNG)")
    (['easting'], ['bng'])
    >>> header_words("Service Request No.")[0]
    ['service', 'request', 'number']
    >>> header_words("SR_Ref")[0]
    ['service', 'request', 'reference']
    >>> header_words("Ward (ONS code)")[0]
    ['ward', 'ons', 'code']
    """
    text = "" if raw is None else str(raw)
    dropped: list[str] = []

    def bracket(found: re.Match[str]) -> str:
        inner = _words(found.group(1))
        if inner and all(w in _BRACKET_UNITS or w.isdigit() for w in inner):
            dropped.extend(inner)
            return " "
        return f" {found.group(1)} "

    text = _BRACKET.sub(bracket, text)
    return _words(text), dropped


def _match(words: list[str], sig: Signature) -> int | None:
    """Score of one signature on a header's words, or None when a word is left unexplained."""
    left = list(words)
    for group in sig.groups:
        hit = next((w for w in left if w in group), None)
        if hit is None:
            return None
        left.remove(hit)
    context = 0
    for word in left:
        if word in sig.context or any(word in group for group in sig.groups):
            context += 1
        elif word not in QUALIFIERS:
            return None
    score = 40 + 10 * len(sig.groups) + 2 * context
    if "time" in words and "date" not in words:
        score -= 5
    return score


def score_header(raw: object, kind: str) -> list[tuple[str, int]]:
    """Every field a header could name, best first, with its score (no exact aliases here).

    Parameters
    ----------
    raw : object
        The header as written.
    kind : str
        ``cleansing``, ``enforcement``, ``spend`` or ``population``.

    Returns
    -------
    list of (field, score)

    Examples
    --------
    >>> score_header("Reference No", "cleansing")
    [('case_id', 52)]
    >>> score_header("Officer No", "cleansing")
    []
    >>> score_header("Date/Time Received", "cleansing")[0][0]
    'reported_at'
    """
    words, _ = header_words(raw)
    if not words:
        return []
    found: dict[str, int] = {}
    for name, sigs in FIELD_WORDS.get(kind, {}).items():
        for sig in sigs:
            score = _match(words, sig)
            if score is not None and score > found.get(name, -1):
                found[name] = score
    return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))


@functools.cache
def known_words(kind: str) -> frozenset[str]:
    """Every word some field of ``kind`` uses (for saying why a header was not matched).

    Examples
    --------
    >>> "officer" in known_words("cleansing"), "reference" in known_words("cleansing")
    (False, True)
    """
    words: set[str] = set(QUALIFIERS)
    for sigs in FIELD_WORDS.get(kind, {}).values():
        for sig in sigs:
            words |= sig.context
            for group in sig.groups:
                words |= group
    return frozenset(words)


RATE_WORDS: Final[frozenset[str]] = frozenset(
    {
        "density",
        "percent",
        "percentage",
        "pct",
        "rate",
        "per",
        "ratio",
        "share",
        "proportion",
        "hectare",
        "hectares",
        "ha",
        "km",
        "km2",
        "sq",
        "square",
        "mean",
        "average",
        "median",
        "change",
        "growth",
        "index",
    }
)
"""Words of a column that is a density, percentage or rate, never a head count."""

_COUNT_WORDS: Final[frozenset[str]] = frozenset(
    {"population", "residents", "resident", "persons", "people", "headcount", "usual", "count"}
)
_GENERIC_VALUE: Final[frozenset[str]] = frozenset(
    {"observation", "value", "total", "all", "number"}
)


def looks_like_rate(raw: object) -> bool:
    """Whether a header names a density, percentage or rate ("Population density", "% pop").

    Examples
    --------
    >>> looks_like_rate("Population density (per km²)"), looks_like_rate("Usual residents")
    (True, False)
    """
    words, dropped = header_words(raw)
    return bool(RATE_WORDS & set(words + dropped))


def head_count_candidates(header: Iterable[object]) -> tuple[list[str], list[str]]:
    """Columns likely to hold a head count, and columns that are rates, for a refusal message.

    Returns ``(likely, rates)``: ``likely`` has the columns with a population word and no rate
    word, else generic value columns ("Observation", "Value", "Total"); ``rates`` those with a
    population word and a rate word.

    Examples
    --------
    >>> head_count_candidates(["Ward", "Population density", "All usual residents"])
    (['All usual residents'], ['Population density'])
    """
    likely: list[str] = []
    generic: list[str] = []
    rates: list[str] = []
    for raw in header:
        words = set(header_words(raw)[0])
        if looks_like_rate(raw):
            if words & (_COUNT_WORDS | _GENERIC_VALUE):
                rates.append(str(raw))
        elif words & _COUNT_WORDS:
            likely.append(str(raw))
        elif words & _GENERIC_VALUE:
            generic.append(str(raw))
    return (likely or generic), rates


def plain_field(kind: str, name: str) -> str:
    """The field's name as people see it ("case reference" for ``case_id``).

    Examples
    --------
    >>> plain_field("cleansing", "reported_at")
    'reported date'
    """
    return FIELD_NAMES.get(kind, {}).get(name, name.replace("_", " "))


def resolve_field(text: str, kind: str) -> str | None:
    """The internal field a user's name for it stands for ("case reference" → ``case_id``).

    Accepts the plain name, the internal name, in any case or punctuation; ``""``, "ignore" and
    "skip" give ``""`` (leave the column out). None when nothing fits.

    Examples
    --------
    >>> resolve_field("Case Reference", "cleansing"), resolve_field("reported_at", "cleansing")
    ('case_id', 'reported_at')
    >>> resolve_field("ignore", "spend")
    ''
    """
    key = " ".join(_words(text))
    if key in ("", "ignore", "skip", "none", "not used", "unused"):
        return ""
    for name, shown in FIELD_NAMES.get(kind, {}).items():
        if key in (" ".join(_words(shown)), " ".join(_words(name)), name.replace("_", " ")):
            return name
    return None
