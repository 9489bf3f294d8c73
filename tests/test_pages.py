"""AppTest for every dashboard page on a store built once from the demo data set.

Each test asserts no exception plus meaningful content: KPI values equal the metric computed
directly with ``neighbourhood.metrics``, the map deck has one ward polygon per ward, the funding
start is marked on the trend chart, filters survive a page switch and live in the URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from neighbourhood import metrics
from neighbourhood.demo import PROGRAMME_START, build_demo
from neighbourhood.schemas import CITYWIDE
from neighbourhood.store import Store
from ui.filters import FilterOptions, default_values
from ui.format import metric_value, number, uk_date

N_CASES = 8_000
MAP_PAYLOAD_LIMIT = 5 * 1024 * 1024


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data set (small) in a tmp store, built once per test session."""
    path = tmp_path_factory.mktemp("demo") / "store"
    build_demo(Store(path), n_cases=N_CASES)
    return path


@pytest.fixture(autouse=True)
def _store_env(demo_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(demo_store))
    monkeypatch.chdir(REPO)


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


def _app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.secrets = {}  # local mode: no [auth] section
    return at


def _open(page: str | None = None) -> AppTest:
    at = _app().run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    _assert_no_raw_html(at)
    return at


def _assert_no_raw_html(at: AppTest) -> None:
    for md in at.markdown:
        assert not md.proto.allow_html, md.value


def _defaults(store: Path) -> dict:
    s = Store(store)
    row = s.query("SELECT min(reported_at) AS a, max(reported_at) AS b FROM cases").iloc[0]
    options = FilterOptions(row["a"].date(), row["b"].date(), ("x",), {})
    return default_values(options)


def _qp(at: AppTest, name: str) -> list[str]:
    value = at.query_params.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _city_latest(store: Path, **kw: object) -> pd.Series:
    start, end = _defaults(store)["filter_dates"]
    table = metrics.ward_period_table(Store(store), start=start, end=end, **kw)
    city = table[table["ward_code"] == CITYWIDE].sort_values("period_start")
    return city.iloc[-1]


def test_overview_kpis_equal_the_metrics_computed_directly(demo_store: Path) -> None:
    at = _open()
    assert at.title[0].value == "Street cleansing and enforcement: overview"
    latest = _city_latest(demo_store, period="month")
    shown = _metrics(at)
    assert shown["Cases reported"] == number(latest["cases"])
    assert shown["Cases per 1,000 residents"] == metric_value(
        "cases_per_1k", latest["cases_per_1k"]
    )
    assert shown["Median days to close"] == metric_value(
        "median_days_to_close", latest["median_days_to_close"]
    )
    assert shown["Closed within target time"] == metric_value(
        "pct_within_sla", latest["pct_within_sla"]
    )
    assert shown["Spend"] == metric_value("spend_gbp", latest["spend_gbp"])
    assert any(m.delta for m in at.metric)
    assert at.subheader[0].value == f"Latest period: {latest['period_start']:%b %Y}"


def test_overview_shows_data_freshness_and_movers(demo_store: Path) -> None:
    at = _open()
    last = Store(demo_store).query("SELECT max(reported_at) AS t FROM cases")["t"].iloc[0]
    captions = " ".join(c.value for c in at.caption)
    assert f"Latest case reported: {uk_date(last)}" in captions
    assert "Last data load:" in captions
    assert len(at.dataframe) == 2  # most improved, getting worse
    assert len(at.get("download_button")) == 2
    assert len(at.get("plotly_chart")) == 1


def test_filters_survive_a_page_switch_and_are_mirrored_in_the_url(demo_store: Path) -> None:
    at = _open()
    at.sidebar.selectbox(key="filter_period").set_value("quarter").run()
    assert _qp(at, "period") == ["quarter"]
    latest = _city_latest(demo_store, period="quarter")
    assert _metrics(at)["Cases reported"] == number(latest["cases"])
    at.switch_page("pages/2_Trends.py").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="filter_period").value == "quarter"
    assert _qp(at, "period") == ["quarter"]


def test_a_shared_link_opens_the_same_view(demo_store: Path) -> None:
    at = _app()
    at.query_params["period"] = "year"
    at.query_params["cat"] = ["fly_tipping"]
    at.query_params["ward"] = "<img src=x onerror=alert(1)>"  # not a ward: ignored
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="filter_period").value == "year"
    assert at.sidebar.multiselect(key="filter_categories").value == ["fly_tipping"]
    latest = _city_latest(demo_store, period="year", categories=["fly_tipping"])
    assert _metrics(at)["Cases reported"] == number(latest["cases"])
    assert "/" in at.subheader[0].value  # a financial year label such as 2025/26
    assert "ward" not in at.query_params


def _deck(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[index].proto.json)


def test_ward_map_draws_one_polygon_per_ward_with_a_table_twin(demo_store: Path) -> None:
    at = _open("pages/1_Ward_map.py")
    n_wards = len(Store(demo_store).wards())
    deck = _deck(at)
    layers = {layer["id"]: layer for layer in deck["layers"]}
    assert layers["wards"]["@@type"] == "GeoJsonLayer"
    assert len(layers["wards"]["data"]) == n_wards
    assert all(len(f["fill_color"]) == 4 for f in layers["wards"]["data"])
    assert "hotspots" not in layers and "cases" not in layers  # both behind toggles
    assert "carto" in deck["mapStyle"]
    tooltip = json.loads(at.get("deck_gl_json_chart")[0].proto.tooltip)
    assert set(tooltip) >= {"text"} and "html" not in tooltip
    table = at.dataframe[0].value
    assert len(table) == n_wards
    assert len(at.get("deck_gl_json_chart")[0].proto.json) < MAP_PAYLOAD_LIMIT


def test_ward_map_table_values_match_the_metrics(demo_store: Path) -> None:
    at = _open("pages/1_Ward_map.py")
    start, end = _defaults(demo_store)["filter_dates"]
    table = metrics.ward_period_table(Store(demo_store), start=start, end=end)
    latest = table[(table["period_start"] == table["period_start"].max())]
    expected = latest[latest["ward_code"] != CITYWIDE].set_index("ward_name")["cases"]
    shown = at.dataframe[0].value.set_index("ward_name")["cases"]
    assert shown.sort_index().tolist() == expected.sort_index().tolist()


def test_ward_map_hotspots_and_capped_points_are_behind_toggles(demo_store: Path) -> None:
    at = _open("pages/1_Ward_map.py")
    at.toggle(key="map_hexes").set_value(True).run()
    at.toggle(key="map_points").set_value(True).run()
    assert not at.exception
    layers = {layer["id"]: layer for layer in _deck(at)["layers"]}
    assert layers["hotspots"]["@@type"] == "H3HexagonLayer"
    assert sum(h["value"] for h in layers["hotspots"]["data"]) > 0
    points = layers["cases"]["data"]
    assert 0 < len(points) <= 100_000
    # Only cleansing cases: every point's title is a cleansing category label.
    assert {p["tooltip_title"] for p in points} <= set(
        __import__("neighbourhood.schemas", fromlist=["x"]).CATEGORY_LABELS.values()
    )


def test_choosing_a_ward_on_the_map_page_opens_its_profile(demo_store: Path) -> None:
    at = _open("pages/1_Ward_map.py")
    code, name = Store(demo_store).wards()[["ward_code", "ward_name"]].iloc[3]
    at.selectbox(key="ward").set_value(code).run()
    assert "Cases reported" in _metrics(at)
    outline = {layer["id"]: layer for layer in _deck(at)["layers"]}["selected_ward"]
    assert [f["ward_code"] for f in outline["data"]] == [code]
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Ward profile"
    assert at.header[0].value == name
    assert _qp(at, "ward") == [code]


def test_trends_count_categories_over_whole_periods_as_the_caption_says(demo_store: Path) -> None:
    at = _app()
    at.query_params["period"] = "quarter"
    at.query_params["from"] = "2025-11-15"  # mid-quarter: Q3 2025/26 is shown whole
    at.run()
    at.switch_page("pages/2_Trends.py").run()
    assert not at.exception
    cats = next(d.value for d in at.dataframe if "category_label" in d.value.columns)
    from ui.format import period_label

    per_period = cats.groupby("period")["cases"].sum()
    table = metrics.ward_period_table(Store(demo_store), period="quarter", start="2025-11-15")
    city = table[table["ward_code"] == CITYWIDE]
    expected = {
        period_label(s, "quarter"): int(n)
        for s, n in zip(city["period_start"], city["cases"], strict=True)
    }
    assert period_label(pd.Timestamp("2025-10-01"), "quarter") in per_period.index  # whole
    assert per_period.to_dict() == expected


def test_trends_mark_the_funding_start_and_compare_wards(demo_store: Path) -> None:
    at = _app()
    wards = Store(demo_store).wards()["ward_code"].tolist()
    at.query_params["wards"] = wards[:2]
    at.run()
    at.switch_page("pages/2_Trends.py").run()
    assert not at.exception
    at.multiselect(key="trend_comparison").set_value(wards[5:8]).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    spec = json.loads(charts[0].proto.spec)
    names = [t.get("name") for t in spec["data"] if t.get("showlegend", True)]
    assert "Whole city" in names and "Comparison wards" in names
    lines = [s for s in spec["layout"]["shapes"] if s["type"] == "line"]
    assert pd.Timestamp(lines[0]["x0"]) == pd.Timestamp(PROGRAMME_START)
    assert any(s["type"] == "rect" for s in spec["layout"]["shapes"])
    assert any(t.get("fill") == "tonexty" for t in spec["data"])  # confidence bands
    assert len(at.get("download_button")) == 2


def test_ward_profile_shows_one_ward_for_a_councillor(demo_store: Path) -> None:
    s = Store(demo_store)
    code, name = s.wards()[["ward_code", "ward_name"]].iloc[0]
    at = _app()
    at.query_params["ward"] = code
    at.run()
    at.switch_page("pages/5_Ward_profile.py").run()
    assert not at.exception
    assert at.header[0].value == name
    start, end = _defaults(demo_store)["filter_dates"]
    table = metrics.ward_period_table(s, start=start, end=end)
    ward = table[table["ward_code"] == code].sort_values("period_start").iloc[-1]
    assert _metrics(at)["Cases reported"] == number(ward["cases"])
    assert len(at.get("plotly_chart")) >= 4  # trend, categories, rank, spend (+ funnel)
    assert len(at.get("deck_gl_json_chart")) == 1
    # Enforcement counts of 1-4 are never shown exactly.
    funnel = at.dataframe[1].value
    for text in funnel["Number"] if "Number" in funnel else funnel["shown"]:
        assert text == "<5" or int(text) == 0 or int(text) >= 5
    assert len(at.get("download_button")) == len(at.dataframe)
    frames = [d.value for d in at.dataframe]
    # repeat places are 50 m squares: where each one is tells two on one street apart
    streets = next(f for f in frames if "repeat_cases" in f.columns)
    assert streets["where"].str.fullmatch(r"-?\d+\.\d{4}, -?\d+\.\d{4}").all()
    assert not streets.duplicated(["street", "top_category", "where"]).any()
    # money in pounds and pence, without the float noise of spend spread over days
    spend = next(f for f in frames if "cost_per_case_closed" in f.columns)
    for col in ("spend_gbp", "cost_per_case_closed"):
        values = spend[col].dropna()
        assert (values.round(2) == values).all(), col
        assert all(len(repr(float(v)).split(".")[-1]) <= 2 for v in values), col


def test_every_page_renders_without_an_exception(demo_store: Path) -> None:
    for page in ("pages/1_Ward_map.py", "pages/2_Trends.py", "pages/5_Ward_profile.py"):
        at = _open(page)
        assert at.title, page


def test_the_demo_is_built_once_into_its_own_store_never_the_councils(
    tmp_path: Path, monkeypatch
) -> None:
    """Uses a tiny demo so the build path is exercised without slowing the suite much."""
    import ui.stores

    built: list[Path] = []

    def fake_build(store: Store, **kw: object) -> None:
        built.append(store.path)
        build_demo(store, n_cases=500)

    monkeypatch.setattr("neighbourhood.demo.build_demo", fake_build)
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(tmp_path / "council"))
    monkeypatch.setenv("NEIGHBOURHOOD_DEMO_STORE", str(tmp_path / "demo"))
    ui.stores._build_demo()
    ui.stores._build_demo()
    assert built == [tmp_path / "demo"]
    assert Store(tmp_path / "demo").kind() == "demo"
    assert not (tmp_path / "council").exists()
    assert not Path(str(tmp_path / "demo") + ".build.lock").exists()


def _nav(at: AppTest) -> list[tuple[str, str]]:
    return [(e.proto.label, e.proto.page) for e in at.sidebar.get("page_link")]


def test_every_page_has_the_sidebar_navigation_with_plain_labels(demo_store: Path) -> None:
    from ui.nav import PAGES

    expected = [label for _, label, _ in PAGES]
    at = _open()
    assert [label for label, _ in _nav(at)] == expected
    assert "app" not in [label for label, _ in _nav(at)]
    for path, label, _ in PAGES[1:]:
        at.switch_page(path).run()
        assert not at.exception, (label, at.exception)
        assert [lbl for lbl, _ in _nav(at)] == expected, label


def test_every_page_says_the_demo_data_is_synthetic(demo_store: Path) -> None:
    from ui.nav import PAGES

    at = _open()
    for path, label, _ in PAGES:
        if path != "app.py":
            at.switch_page(path).run()
        notices = [el.value for el in at.sidebar.info]
        assert any("fictional city" in str(v) and "synthetic" in str(v) for v in notices), label


def test_the_first_start_says_the_demo_data_is_synthetic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Choosing the demo on a fresh start builds it after the sidebar was drawn: the notice is
    there in the same run."""
    monkeypatch.setattr(
        "neighbourhood.demo.build_demo", lambda store, **kw: build_demo(store, n_cases=500)
    )
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(tmp_path / "fresh"))
    monkeypatch.setenv("NEIGHBOURHOOD_DEMO_STORE", str(tmp_path / "demo"))
    at = _app().run()
    assert not at.exception, at.exception
    at.button(key="first_run_demo").click().run()
    assert not at.exception, at.exception
    assert Store(tmp_path / "demo").kind() == "demo"
    assert not Store(tmp_path / "fresh").exists()
    notices = [str(el.value) for el in at.sidebar.info]
    assert any("fictional city" in v for v in notices), notices
    assert at.metric, "the overview's figures are drawn in the same run"


# --- disclosure control: enforcement counts from 1 to threshold-1 are never shown exactly ------


def _small_ward(store: Path) -> tuple[str, int]:
    """A ward with enforcement actions in the latest month, and a threshold that hides them."""
    start, end = _defaults(store)["filter_dates"]
    table = metrics.ward_period_table(Store(store), start=start, end=end)
    latest = table[
        (table["period_start"] == table["period_start"].max()) & (table["ward_code"] != CITYWIDE)
    ]
    row = latest[latest["enforcement_actions"] > 0].sort_values("enforcement_actions").iloc[0]
    return str(row["ward_code"]), int(row["enforcement_actions"]) + 1


def test_ward_profile_hides_a_small_enforcement_kpi_and_its_delta(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, threshold = _small_ward(demo_store)
    monkeypatch.setenv("NEIGHBOURHOOD_SDC_THRESHOLD", str(threshold))
    at = _app()
    at.query_params["ward"] = code
    at.run()
    at.switch_page("pages/5_Ward_profile.py").run()
    assert not at.exception
    card = next(m for m in at.metric if m.label == "Enforcement actions")
    assert card.value == f"<{threshold}"
    assert not card.proto.delta  # no delta that could give the count away
    assert not card.proto.chart_data  # nor a trend line
    funnel = at.dataframe[1].value
    for text in funnel["shown"]:
        assert text == f"<{threshold}" or int(text) == 0 or int(text) >= threshold


def test_overview_for_one_ward_hides_a_small_enforcement_kpi(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, threshold = _small_ward(demo_store)
    monkeypatch.setenv("NEIGHBOURHOOD_SDC_THRESHOLD", str(threshold))
    at = _app()
    at.query_params["wards"] = [code]
    at.run()
    assert not at.exception
    assert _metrics(at)["Enforcement actions"] == f"<{threshold}"
    at.sidebar.multiselect(key="filter_wards").set_value([]).run()  # whole city: exact
    assert _metrics(at)["Enforcement actions"] != f"<{threshold}"


def test_ward_map_by_enforcement_hides_small_counts_in_tooltips_table_and_csv(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch, downloads: list[str]
) -> None:
    code, threshold = _small_ward(demo_store)
    monkeypatch.setenv("NEIGHBOURHOOD_SDC_THRESHOLD", str(threshold))
    at = _open("pages/1_Ward_map.py")
    at.selectbox(key="map_metric").set_value("enforcement_actions").run()
    assert not at.exception
    wards = {f["ward_code"]: f for f in _deck(at)["layers"][0]["data"]}
    assert wards[code]["tooltip_detail"] == f"Enforcement actions: <{threshold}"
    assert list(wards[code]["fill_color"]) == [200, 200, 200, 110]  # grey, like no data
    name = Store(demo_store).wards().set_index("ward_code").loc[code, "ward_name"]
    table = at.dataframe[0].value.set_index("ward_name")
    assert table.loc[name, "enforcement_actions"] == f"<{threshold}"
    row = next(line for line in downloads[-1].splitlines() if line.startswith(f"{name},"))
    assert f",<{threshold}," in row


def test_trends_by_enforcement_leave_gaps_for_small_ward_counts(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, threshold = _small_ward(demo_store)
    monkeypatch.setenv("NEIGHBOURHOOD_SDC_THRESHOLD", str(threshold))
    at = _app()
    at.query_params["wards"] = [code]
    at.run()
    at.switch_page("pages/2_Trends.py").run()
    at.selectbox(key="trend_metric").set_value("enforcement_actions").run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    name = Store(demo_store).wards().set_index("ward_code").loc[code, "ward_name"]
    ward_ys = [y for t in spec["data"] if t.get("name") == name for y in _ys(t)]
    assert ward_ys and all(y is None or y == 0 or y >= threshold for y in ward_ys)
    shown = at.dataframe[0].value
    ward_rows = shown[shown["ward_name"] == name]["enforcement_actions"]
    assert f"<{threshold}" in set(ward_rows)
    assert "to protect the people involved" in " ".join(c.value for c in at.caption)


def _ys(trace: dict) -> list:
    y = trace.get("y", [])
    if isinstance(y, dict):  # plotly's typed-array encoding
        import base64

        import numpy as np

        arr = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
        return [None if np.isnan(v) else float(v) for v in arr]
    return list(y)


# --- whole periods, incomplete periods, movers, labels (tester's defects) ---------------------


def _main_captions(at: AppTest) -> str:
    """The main captions as read: labels in them are escaped (ui.text.md), escapes dropped."""
    text = " ".join(str(c.value) for c in at.main.caption)
    return text.replace("\\", "").replace("\u2060", "")


def _data_end(store: Path) -> pd.Timestamp:
    last = Store(store).query("SELECT max(reported_at) AS t FROM cases")["t"].iloc[0]
    return pd.Timestamp(last).tz_convert("Europe/London")


def test_a_one_day_range_says_it_shows_the_whole_month(demo_store: Path) -> None:
    from ui.format import period_name

    day = (_data_end(demo_store) - pd.DateOffset(months=6)).date()
    at = _app()
    at.query_params["from"] = day.isoformat()
    at.query_params["to"] = day.isoformat()
    at.run()
    assert not at.exception
    month = pd.Timestamp(day.year, day.month, 1)
    captions = _main_captions(at)
    assert f"{period_name(month)} (whole month)" in captions
    assert f"The dates chosen ({uk_date(day)} to {uk_date(day)}) are widened" in captions
    # ... and the figures are that whole month's.
    table = metrics.ward_period_table(Store(demo_store), start=day, end=day)
    city = table[table["ward_code"] == CITYWIDE].iloc[-1]
    assert _metrics(at)["Cases reported"] == number(city["cases"])


def test_a_range_after_the_data_says_where_the_data_end(demo_store: Path) -> None:
    end = _data_end(demo_store)
    asked = (end + pd.DateOffset(months=3)).date()
    at = _app()
    at.query_params["from"] = asked.isoformat()
    at.query_params["to"] = (asked + pd.DateOffset(months=2)).date().isoformat()
    at.run()
    assert not at.exception
    captions = _main_captions(at)
    assert f"end on {uk_date(end)}" in captions
    assert uk_date(asked) in captions


def test_year_view_marks_the_incomplete_year_and_shows_no_change(demo_store: Path) -> None:
    from ui.format import is_complete

    end = _data_end(demo_store)
    fy_start = pd.Timestamp(end.year if end.month >= 4 else end.year - 1, 4, 1)
    assert not is_complete(fy_start, "year", end.date()), "the demo data end inside a year"
    at = _app()
    at.query_params["period"] = "year"
    at.run()
    assert not at.exception
    assert "so far" in at.subheader[0].value
    assert not any(m.proto.delta for m in at.metric)  # half a year is not compared with a year
    assert "No changes are shown" in _main_captions(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    line = next(t for t in spec["data"] if t.get("mode") == "lines+markers")
    so_far = next(t for t in spec["data"] if t.get("mode") == "markers")
    assert so_far["marker"]["symbol"] == "circle-open"
    # the line stops at the last whole year: the half year is a point of its own
    assert max(pd.to_datetime(line["x"])) < min(pd.to_datetime(so_far["x"]))
    # Movers use the last whole year, not the half year.
    assert f"{fy_start.year - 1}/{fy_start.year % 100:02d} against" in _main_captions(at)


def test_overview_movers_follow_the_compare_toggle(demo_store: Path) -> None:
    at = _open()
    assert "against" in _main_captions(at)
    start, end = _defaults(demo_store)["filter_dates"]
    table = metrics.ward_period_table(Store(demo_store), start=start, end=end)
    last = table["period_start"].max()
    latest = table[(table["period_start"] == last) & (table["ward_code"] != CITYWIDE)]
    latest = latest[latest["rank_cases_per_1k"].notna()].set_index("ward_name")
    for compare, column, before in (
        ("previous", "cases_per_1k_change_prev_pct", last - pd.DateOffset(months=1)),
        ("year", "cases_per_1k_change_yoy_pct", last - pd.DateOffset(months=12)),
    ):
        at.segmented_control(key="overview_compare").set_value(compare).run()
        assert not at.exception
        assert f"{last:%b %Y} against {before:%b %Y}" in _main_captions(at)
        worst = at.dataframe[1].value
        assert not worst.empty
        expected = latest.loc[worst["ward_name"], column].round(6).tolist()
        assert worst["change_pct"].round(6).tolist() == expected
        assert (worst["change_pct"] > 0).all()


def test_overview_for_chosen_wards_labels_and_movers_say_so(demo_store: Path) -> None:
    wards = Store(demo_store).wards()[["ward_code", "ward_name"]]
    chosen = wards["ward_code"].tolist()[:3]
    at = _app()
    at.query_params["wards"] = chosen
    at.query_params["period"] = "quarter"  # enough cases per ward to be ranked
    at.run()
    assert not at.exception
    captions = _main_captions(at)
    assert "the 3 chosen wards" in captions
    assert "Solid line" not in captions and "Dotted line" in captions
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [t.get("name") for t in spec["data"] if t.get("showlegend", True)]
    assert "Whole city" not in names and "Chosen wards (total)" in names
    city = next(t for t in spec["data"] if t.get("name") == "Chosen wards (total)")
    assert city["line"]["dash"] == "dot"
    names_shown = set(at.dataframe[0].value["ward_name"]) | set(at.dataframe[1].value["ward_name"])
    assert names_shown and names_shown <= set(wards.set_index("ward_code").loc[chosen, "ward_name"])


def test_one_chosen_ward_is_singular(demo_store: Path) -> None:
    code, name = Store(demo_store).wards()[["ward_code", "ward_name"]].iloc[0]
    at = _app()
    at.query_params["wards"] = [code]
    at.run()
    assert not at.exception
    captions = _main_captions(at)
    assert f"{name} (the chosen ward)" in captions
    assert "1 wards" not in captions and "1 chosen wards" not in captions


def test_ward_profile_caption_does_not_say_all_wards(demo_store: Path) -> None:
    code = Store(demo_store).wards()["ward_code"].iloc[0]
    at = _app()
    at.query_params["ward"] = code
    at.run()
    at.switch_page("pages/5_Ward_profile.py").run()
    assert not at.exception
    first = at.main.caption[1].value  # after the demo line
    assert "Periods shown:" in first and "all wards" not in first


def test_spend_card_says_it_ignores_the_category_filter(demo_store: Path) -> None:
    at = _app()
    at.query_params["cat"] = ["needles"]
    at.run()
    assert not at.exception
    spend = next(m for m in at.metric if m.label == "Spend")
    assert "not recorded by category" in spend.proto.help
    assert "Spend is for all categories" in _main_captions(at)


def test_ward_map_hotspots_and_cases_cover_the_chosen_period(demo_store: Path) -> None:
    at = _open("pages/1_Ward_map.py")
    at.toggle(key="map_hexes").set_value(True).run()
    at.toggle(key="map_points").set_value(True).run()
    assert not at.exception
    month = at.select_slider(key="map_period").value
    layers = {layer["id"]: layer for layer in _deck(at)["layers"]}
    in_month = int(at.dataframe[0].value["cases"].sum())
    assert 0 < sum(h["value"] for h in layers["hotspots"]["data"]) <= in_month
    assert 0 < len(layers["cases"]["data"]) <= in_month
    first = pd.Timestamp(month).date()
    captions = _main_captions(at)
    assert f"cases reported {uk_date(first)} to" in captions
    # One colour scale at a time: wards are outlines, the legend is the hexagons'.
    assert layers["wards"]["getFillColor"] == [255, 255, 255, 1]
    legends = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert legends == ["Hotspots: cases in each small hexagon"]


def test_every_page_body_has_a_demo_line(demo_store: Path) -> None:
    from ui.nav import PAGES

    at = _open()
    for path, label, _ in PAGES:
        if path != "app.py":
            at.switch_page(path).run()
        assert "fictional city" in _main_captions(at), label
