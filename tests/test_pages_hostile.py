"""AppTest: every page on a store holding hostile strings (notes/reliability.md §2–3).

After the demo build, a cleansing extract is ingested through ``neighbourhood.ingest.ingest_bytes``
with a category label ``<img src=x onerror=alert(1)>`` (also the file name), a street
``=HYPERLINK("http://evil","x")`` repeated at one spot (so it tops the ward's repeat places) and a
ward name with a Cyrillic look-alike letter. Then every label in the store is made hostile
(``tests/hostile.py``: Markdown links and images, HTML, emphasis, LaTeX, Streamlit directives,
icons and emoji, code, headings, tables, line breaks, autolinks): ward names, a category code,
the council's category labels, streets, programme names (in the spend table and in the
programmes file), file names, log messages and the boundary set's name.

Every page must render without an exception, and every Markdown-rendered text in the element
tree (bodies, labels, help, metric values and deltas, radio and slider options) must hold no
construct from the data unescaped, while the labels stay readable; Plotly figures carry no tag
or TeX from the data, pydeck tooltips are text, and CSV downloads neutralise formulas.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from google.protobuf.message import Message
from hostile import HOSTILE_LABELS, markdown_problems, one_line, plotly_problems, readable
from page_support import REPO, copy_store, council_store
from streamlit.testing.v1 import AppTest

from neighbourhood.ingest import ingest_bytes
from neighbourhood.store import Store

TAG = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil","x")'
#: Every page Streamlit discovers (a new page is walked too).
PAGES = tuple(f"pages/{p.name}" for p in sorted((REPO / "pages").glob("[0-9]*.py")))


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo files loaded as a council's own, plus the hostile extract; returns the folder and the ward it lands in."""
    base = tmp_path_factory.mktemp("hostile")
    path = copy_store(council_store(base), base / "store")
    store = Store(path)
    wards = store.wards()
    ward = wards.iloc[2]
    spot = ward.geometry.representative_point()
    last = store.query("SELECT max(reported_at) AS t FROM cases")["t"].iloc[0]
    last = last.tz_convert("Europe/London")
    # One letter swapped for its Cyrillic look-alike ("a" → "а", "e" → "е", "o" → "о").
    confusable = str(ward["ward_name"]).translate(str.maketrans("aeo", "\u0430\u0435\u043e"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Case Reference", "Date Received", "Request Type", "Status", "Street",
                     "Ward", "Latitude", "Longitude"])  # fmt: skip
    for i in range(30):
        when = last - pd.Timedelta(days=40 - i, hours=2)
        category = TAG if i % 3 == 0 else "Fly Tipping"
        writer.writerow(
            [
                f"HOSTILE-{i:03d}",
                when.strftime("%d/%m/%Y %H:%M"),
                category,
                "Open",
                FORMULA,
                confusable,
                f"{spot.y:.6f}",
                f"{spot.x:.6f}",
            ]
        )
    result = ingest_bytes(store, out.getvalue().encode(), f"{TAG}.csv", "cleansing")
    assert result.status == "committed", result.message
    assert result.rows_accepted > 0, result.rejects
    _make_labels_hostile(path, base)
    return path, str(ward["ward_code"])


#: A category code that is not canonical, a programme and a boundary set, all hostile.
CATEGORY = ":red[cat] [c](http://evil.example/c) $c$"
PROGRAMME = "**Pride** [fund](http://evil.example/p) <img src=x> $5$ :material/home:"
BOUNDARY_SET = ":blue[set] ![b](http://evil.example/b.png)"


def ward_label(i: int) -> str:
    """The hostile name given to the i-th ward (by code): unique, one construct each."""
    return f"{HOSTILE_LABELS[i % len(HOSTILE_LABELS)]} {i}"


def _make_labels_hostile(path: Path, base: Path) -> None:
    """Every free-text label in the store (and the programmes file) becomes hostile."""
    labels = list(HOSTILE_LABELS)
    con = duckdb.connect(str(path / "store.duckdb"))
    try:
        codes = [
            r[0] for r in con.execute("SELECT DISTINCT ward_code FROM wards ORDER BY 1").fetchall()
        ]
        for i, code in enumerate(codes):
            for table in ("wards", "cases", "enforcement", "population"):
                con.execute(
                    f"UPDATE {table} SET ward_name = ? WHERE ward_code = ?", [ward_label(i), code]
                )
        pick = f"list_element($labels, 1 + CAST(hash(case_id) % {len(labels)} AS INTEGER))"
        con.execute(
            f"UPDATE cases SET street = {pick}, category_raw = {pick} "
            "WHERE case_id NOT LIKE 'HOSTILE-%'",
            {"labels": labels},
        )
        con.execute(
            "UPDATE value_codes SET value = ? WHERE col = 'category' AND value = 'needles'",
            [CATEGORY],
        )
        con.execute("UPDATE cases SET category = ? WHERE category = 'needles'", [CATEGORY])
        con.execute(
            "UPDATE spend SET programme = ? WHERE programme = 'Neighbourhood Pride Fund'",
            [PROGRAMME],
        )
        con.execute("UPDATE wards SET boundary_set = ?", [BOUNDARY_SET])
        con.execute(
            "UPDATE ingest_log SET boundary_set = ? WHERE boundary_set IS NOT NULL", [BOUNDARY_SET]
        )
        con.execute(
            f"UPDATE ingest_log SET file_name = list_element($labels, 1 + CAST(seq % {len(labels)} AS INTEGER)) || '.csv', "
            f"message = list_element($labels, 1 + CAST((seq + 1) % {len(labels)} AS INTEGER)) "
            "WHERE file_name NOT LIKE '<img%'",
            {"labels": labels},
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    demo = pd.read_csv(REPO / "data" / "programmes.csv")
    demo.loc[0, "programme"] = PROGRAMME
    demo.loc[0, "description"] = " ".join(HOSTILE_LABELS)
    demo.to_csv(base / "programmes.csv", index=False)


@pytest.fixture(autouse=True)
def _env(hostile_store: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.data
    import ui.spend

    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(hostile_store[0]))
    monkeypatch.chdir(REPO)
    programmes = hostile_store[0].parent / "programmes.csv"
    monkeypatch.setattr(ui.data, "PROGRAMMES_CSV", programmes)
    monkeypatch.setattr(ui.spend, "PROGRAMMES_CSV", programmes)


def _app(ward: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.secrets = {"roles": {"analysts": []}}  # local mode, never a developer's secrets.toml
    at.user = {}
    at.query_params["ward"] = ward
    return at


#: Element types whose strings are plain text in the browser (never Markdown).
PLAIN_TYPES = frozenset({"Text", "Code", "Exception", "Selectbox", "MultiSelect", "DeckGlJsonChart",
                         "PlotlyChart", "ArrowNamedDataSet", "Arrow", "DataFrame", "Json"})  # fmt: skip
#: Fields Streamlit renders as Markdown in every other element (and Block: expander, tab).
MARKDOWN_FIELDS = frozenset({"body", "label", "help", "delta", "options", "content", "caption"})


def _markdown_strings(message: Message, kind: str, path: str = "") -> list[tuple[str, str]]:
    """(where, text) for every Markdown-rendered string in a proto, walked recursively."""
    found: list[tuple[str, str]] = []
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for v in values:
            if isinstance(v, Message):
                found += _markdown_strings(v, kind, f"{path}{field.name}.")
            elif isinstance(v, str) and field.name in MARKDOWN_FIELDS:
                found.append((f"{kind}.{path}{field.name}", v))
    return found


def page_markdown(at: AppTest) -> list[tuple[str, str]]:
    """Every string the browser would render as Markdown on the page."""
    found: list[tuple[str, str]] = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if not isinstance(proto, Message):
            continue
        kind = type(proto).__name__
        if kind not in PLAIN_TYPES:
            found += _markdown_strings(proto, kind)
        elif kind in ("Selectbox", "MultiSelect"):  # their label and help are Markdown
            found += [(f"{kind}.{f}", getattr(proto, f)) for f in ("label", "help")]
    return found


def assert_labels_are_text(at: AppTest, page: str) -> None:
    """No Markdown text, Plotly figure or pydeck tooltip on the page carries data as markup."""
    for where, body in page_markdown(at):
        assert markdown_problems(body) == [], (page, where, body)
    for chart in at.get("plotly_chart"):
        assert plotly_problems(chart.proto.spec) == [], page
    for deck in at.get("deck_gl_json_chart"):
        assert "html" not in json.loads(deck.proto.tooltip or "{}"), page  # text tooltips only


def shown(at: AppTest) -> str:
    """All the Markdown on the page as a reader sees it."""
    return "\n".join(readable(body) for _, body in page_markdown(at))


def test_the_hostile_file_name_is_shown_as_plain_text(hostile_store: tuple[Path, str]) -> None:
    at = _app(hostile_store[1]).run()
    assert not at.exception
    assert any(TAG in t.value for t in at.text)  # st.text: never markup
    at.switch_page("pages/6_Ingest_log.py").run()
    assert not at.exception
    assert f"{TAG}.csv" in set(at.dataframe[0].value["file_name"].astype(str))


def test_csv_downloads_neutralise_the_formula(
    hostile_store: tuple[Path, str], downloads: list[str]
) -> None:
    at = _app(hostile_store[1]).run()
    at.switch_page("pages/5_Ward_profile.py").run()
    assert not at.exception
    shown = at.dataframe[0].value  # places with repeat problems
    assert FORMULA in set(shown["street"])  # the table shows the text as it is
    cells = [cell for text in downloads for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + FORMULA in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


# --- every label shown as text ------------------------------------------------------------------


def _codes(path: Path) -> list[str]:
    con = duckdb.connect(str(path / "store.duckdb"), read_only=True)
    try:
        return [
            r[0] for r in con.execute("SELECT DISTINCT ward_code FROM wards ORDER BY 1").fetchall()
        ]
    finally:
        con.close()


def _check(at: AppTest, page: str) -> None:
    assert not at.exception, (page, at.exception)
    assert_labels_are_text(at, page)


def test_every_page_shows_hostile_labels_as_text(hostile_store: tuple[Path, str]) -> None:
    at = _app(hostile_store[1]).run()
    _check(at, "app.py")
    for page in PAGES:
        at.switch_page(page).run()
        _check(at, page)


def test_a_chosen_ward_and_category_are_text_in_captions_and_titles(
    hostile_store: tuple[Path, str],
) -> None:
    codes = _codes(hostile_store[0])
    at = _app(codes[0])
    at.query_params["wards"] = codes[0]
    at.query_params["cat"] = CATEGORY
    at.run()
    _check(at, "app.py, one ward and one category")
    text = shown(at)
    assert f"{one_line(ward_label(0))} (the chosen ward)" in text
    assert one_line(CATEGORY) in text
    at.switch_page("pages/2_Trends.py").run()
    at.multiselect(key="trend_comparison").set_value(codes[1:6]).run()
    _check(at, "trends, comparison wards")
    at.switch_page("pages/5_Ward_profile.py").run()
    _check(at, "ward profile, one category")


def test_every_hostile_ward_name_heads_its_profile_as_text(hostile_store: tuple[Path, str]) -> None:
    codes = _codes(hostile_store[0])
    at = _app(codes[0]).run()
    at.switch_page("pages/5_Ward_profile.py").run()
    for i, code in enumerate(codes[:8]):  # links, images, HTML, emphasis, TeX, directives, icons
        at.selectbox(key="ward").set_value(code).run()
        _check(at, f"ward profile of {ward_label(i)!r}")
        assert [readable(h.value) for h in at.main.header] == [one_line(ward_label(i))]


def test_a_hostile_programme_is_text_on_the_spend_page(hostile_store: tuple[Path, str]) -> None:
    at = _app(hostile_store[1]).run()
    at.switch_page("pages/3_Spend_vs_results.py").run()
    assert PROGRAMME in at.selectbox(key="spend_programme").options
    at.selectbox(key="spend_programme").set_value(PROGRAMME).run()
    _check(at, "spend vs results")
    assert one_line(PROGRAMME) in shown(at)


def test_a_hostile_upload_is_text_in_the_preview_and_the_result(
    hostile_store: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = copy_store(hostile_store[0], tmp_path / "store")  # this test writes
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store))
    at = _app(hostile_store[1]).run()
    at.switch_page("pages/4_Upload.py").run()
    rows = [
        "Case Reference,Date Received,Request Type,Status,Street,"
        + ",".join(
            '"' + label.replace('"', "'").replace("\n", " ") + '"' for label in HOSTILE_LABELS[:3]
        )
    ]
    for i, label in enumerate(HOSTILE_LABELS):
        cell = '"' + label.replace('"', '""') + '"'
        rows.append(f"H-{i},01/02/2025,{cell},Open,{cell},a,b,c")
    name = f"{HOSTILE_LABELS[0]} {HOSTILE_LABELS[6]}.csv"
    at.file_uploader(key="upload_files").set_value((name, "\n".join(rows).encode(), "text/csv"))
    at.run()
    _check(at, "load data preview")
    if not at.button(key="upload_load").disabled:
        at.button(key="upload_load").click().run()
        _check(at, "load data result")
    assert one_line(name) in shown(at)
