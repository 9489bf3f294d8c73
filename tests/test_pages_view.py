"""What a person sees on the dashboard pages (issue #17): true hexagon colours, tables that
show "–" for missing values, comparisons that say what they compare, tiny data read honestly.

AppTest on the session's demo store (``tests/page_support.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import page_support as ps
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from neighbourhood.store import Store

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ps.demo_store(tmp_path_factory.mktemp("view"))


@pytest.fixture(autouse=True)
def _env(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store))
    monkeypatch.chdir(ps.REPO)


def _open(page: str) -> AppTest:
    at = ps.page(page).run()
    assert not at.exception, at.exception
    return at


def _decks(at: AppTest) -> list:
    return list(at.get("deck_gl_json_chart"))


def test_ward_map_with_hotspots_takes_no_map_selection_that_would_tint_the_hexagons(
    store: Path,
) -> None:
    at = _open("1_Ward_map.py")
    code = Store(store).wards()["ward_code"].iloc[2]
    at.selectbox(key="ward").set_value(code).run()
    at.toggle(key="map_hexes").set_value(True).run()
    assert not at.exception
    deck = _decks(at)[0]
    # Streamlit fades every object but the selected one on a map with a selection: the
    # hexagons would no longer have the colours of their legend.
    assert not list(deck.proto.selection_mode)
    layers = json.loads(deck.proto.json)["layers"]
    ids = [layer["id"] for layer in layers]
    assert ids.index("hotspots") > ids.index("wards")
    outline = layers[ids.index("selected_ward")]
    assert outline["filled"] is False and ids.index("selected_ward") > ids.index("hotspots")
    # without hotspots the map stays clickable
    at.toggle(key="map_hexes").set_value(False).run()
    assert list(_decks(at)[0].proto.selection_mode)


PAGES = (
    "app.py",
    "1_Ward_map.py",
    "2_Trends.py",
    "5_Ward_profile.py",
    "6_Ingest_log.py",
    "7_Compared_with_other_councils.py",
)


def _page(name: str) -> AppTest:
    if name != "app.py":
        return _open(name)
    at = AppTest.from_file(str(ps.REPO / "app.py"), default_timeout=120)
    at.secrets = dict(ps.LOCAL_SECRETS)
    at.user = {}
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name", PAGES)
def test_every_table_shows_a_dash_for_a_missing_value_never_none(store: Path, name: str) -> None:
    at = _page(name)
    assert at.dataframe, f"{name} draws no table"
    for df in at.dataframe:
        # Streamlit draws a missing cell as "None" unless told otherwise
        assert df.proto.placeholder == "–", name
        text = df.value.select_dtypes(include="object")
        assert not text.isin(["nan", "NaT", "<NA>", "None", ""]).to_numpy().any(), name
        if df.value.isna().to_numpy().any():
            assert "–" in ps.texts(at).replace("\\", ""), f"{name}: no legend for the dash"


def test_a_table_with_missing_values_has_a_legend_for_the_dash() -> None:
    import pandas as pd

    from ui.format import MISSING_LEGEND, display_frame, has_missing

    frame = pd.DataFrame({"ward": ["A", "B"], "rate": [1.5, None], "n": ["3", ""]})
    shown = display_frame(frame)
    assert shown["rate"].isna().tolist() == [False, True]
    assert shown["n"].tolist() == ["3", None]
    assert has_missing(frame) and not has_missing(frame.iloc[:1])
    assert MISSING_LEGEND.startswith("–")


def _rarest_category(store: Path) -> str:
    counts = Store(store).query("SELECT category, count(*) AS n FROM cases GROUP BY category")
    return str(counts.sort_values("n")["category"].iloc[0])


def test_overview_with_one_rare_category_explains_the_empty_movers(store: Path) -> None:
    at = _page("app.py")
    at.multiselect(key="filter_categories").set_value([_rarest_category(store)]).run()
    assert not at.exception
    # no bare empty tables: each empty movers list is replaced by the reason it is empty
    assert all(len(df.value) for df in at.dataframe)
    reasons = [i.value for i in at.info]
    assert any("cases in both periods" in r or "rate fell" in r for r in reasons), reasons
    deltas = [m.proto.delta for m in at.metric]
    assert not any(d.endswith("%") and abs(float(d.rstrip("%"))) >= 100 for d in deltas if d)


def test_ward_profile_says_what_its_changes_are_compared_with(store: Path) -> None:
    at = _open("5_Ward_profile.py")
    captions = [c.value for c in at.caption]
    assert any(
        c.startswith("Latest period:") and "Changes are against" in c for c in captions
    ) or any("No changes are shown" in c for c in captions), captions


# --- links carry the whole view (issue #17) -----------------------------------------------------


def _link(at: AppTest) -> dict[str, list[str]]:
    out = {}
    for name in at.query_params:
        value = at.query_params[name]
        out[name] = [value] if isinstance(value, str) else list(value)
    return out


def _reopen(name: str, link: dict[str, list[str]]) -> AppTest:
    """The page opened from a link in a fresh session (a new browser)."""
    at = AppTest.from_file(
        str(ps.REPO / ("app.py" if name == "app.py" else f"pages/{name}")), default_timeout=120
    )
    at.secrets = dict(ps.LOCAL_SECRETS)
    at.user = {}
    for key, values in link.items():
        at.query_params[key] = values
    at.run()
    assert not at.exception, at.exception
    return at


def _figures(at: AppTest) -> dict:
    """What the visitor reads: card values and changes, tables, map layers, chart titles."""
    decks = [json.loads(d.proto.json) for d in at.get("deck_gl_json_chart")]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {
        "metrics": [(m.label, m.value, m.proto.delta) for m in at.metric],
        "tables": [df.value.to_json() for df in at.dataframe],
        "layers": [[layer["id"] for layer in d["layers"]] for d in decks],
        "charts": [(c["layout"].get("title", {}).get("text"), len(c["data"])) for c in charts],
        "subheaders": [h.value for h in at.subheader],
    }


def test_overview_link_keeps_the_compare_toggle(store: Path) -> None:
    at = _page("app.py")
    before = _figures(at)
    at.segmented_control(key="overview_compare").set_value("year").run()
    at.sidebar.selectbox(key="filter_period").set_value("quarter").run()
    link = _link(at)
    assert link["compare"] == ["year"] and link["period"] == ["quarter"]
    assert {"from", "to"} <= set(link)
    shown = _figures(at)
    assert shown != before
    again = _reopen("app.py", link)
    assert again.segmented_control(key="overview_compare").value == "year"
    assert _figures(again) == shown


def test_ward_map_link_keeps_period_measure_and_toggles(store: Path) -> None:
    at = _open("1_Ward_map.py")
    latest = at.select_slider(key="map_period").value
    earlier = latest - pd.DateOffset(months=6)
    at.select_slider(key="map_period").set_value(earlier).run()
    assert at.select_slider(key="map_period").value == earlier
    at.selectbox(key="map_metric").set_value("median_days_to_close").run()
    at.toggle(key="map_hexes").set_value(True).run()
    at.toggle(key="map_points").set_value(True).run()
    code = Store(store).wards()["ward_code"].iloc[1]
    at.selectbox(key="ward").set_value(code).run()
    assert not at.exception
    link = _link(at)
    assert {"when", "measure", "hotspots", "cases", "ward", "from", "to"} <= set(link)
    again = _reopen("1_Ward_map.py", link)
    assert again.select_slider(key="map_period").value == at.select_slider(key="map_period").value
    assert again.selectbox(key="map_metric").value == "median_days_to_close"
    assert again.toggle(key="map_hexes").value and again.toggle(key="map_points").value
    assert _figures(again) == _figures(at)
    assert [json.loads(d.proto.json) for d in again.get("deck_gl_json_chart")] == [
        json.loads(d.proto.json) for d in at.get("deck_gl_json_chart")
    ]


def test_ward_map_link_opened_later_still_shows_its_period(store: Path) -> None:
    # the default period is the latest: a link must name its own, or it moves with the data
    at = _open("1_Ward_map.py")
    link = _link(at)
    latest = at.select_slider(key="map_period").value
    assert link["when"] == [latest.date().isoformat()]


def test_trends_link_keeps_measure_comparison_wards_and_city_line(store: Path) -> None:
    at = _open("2_Trends.py")
    codes = list(Store(store).wards()["ward_code"].iloc[:2])
    at.selectbox(key="trend_metric").set_value("median_days_to_close").run()
    at.multiselect(key="trend_comparison").set_value(codes).run()
    at.toggle(key="trend_city").set_value(False).run()
    link = _link(at)
    assert link["measure"] == ["median_days_to_close"]
    assert link["compare"] == codes and link["city"] == ["0"]
    again = _reopen("2_Trends.py", link)
    assert again.multiselect(key="trend_comparison").value == codes
    assert again.toggle(key="trend_city").value is False
    assert _figures(again) == _figures(at)


def test_unknown_values_in_a_link_are_ignored(store: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    at = _reopen(
        "1_Ward_map.py",
        {"measure": [hostile], "when": ["1999-01-01"], "hotspots": ["yes"], "cases": [hostile]},
    )
    assert at.selectbox(key="map_metric").value == "cases_per_1k"
    fresh = _open("1_Ward_map.py")
    assert at.select_slider(key="map_period").value == fresh.select_slider(key="map_period").value
    assert at.toggle(key="map_hexes").value is False and at.toggle(key="map_points").value is False
    assert _link(at)["when"] != ["1999-01-01"] and "measure" not in _link(at)
    trends = _reopen(
        "2_Trends.py", {"compare": [hostile, "E0"], "city": [hostile], "measure": ["x"]}
    )
    assert trends.multiselect(key="trend_comparison").value == []
    assert trends.toggle(key="trend_city").value is True
    overview = _reopen("app.py", {"compare": [hostile]})
    assert overview.segmented_control(key="overview_compare").value == "previous"


# --- phone and laptop widths (issue #17) --------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "app.py",
        "2_Trends.py",
        "3_Spend_vs_results.py",
        "5_Ward_profile.py",
        "7_Compared_with_other_councils.py",
    ],
)
def test_no_chart_has_a_plotly_toolbar_over_its_title(store: Path, name: str) -> None:
    at = _page(name)
    charts = list(at.get("plotly_chart"))
    assert charts
    for chart in charts:
        assert json.loads(chart.proto.config or "{}").get("displayModeBar") is False


def test_movers_show_the_change_second_so_a_phone_sees_it(store: Path) -> None:
    at = _page("app.py")
    movers = [df for df in at.dataframe if "change_pct" in df.value.columns]
    assert movers
    for df in movers:
        assert list(df.value.columns)[:2] == ["ward_name", "change_pct"]


def test_ingest_log_shows_the_status_next_to_the_time(store: Path) -> None:
    at = _open("6_Ingest_log.py")
    order = list(at.dataframe[0].proto.column_order)
    assert order[:2] == ["started_at", "status"]


def test_spend_link_keeps_programme_outcome_and_type_of_case(store: Path) -> None:
    at = _open("3_Spend_vs_results.py")
    at.selectbox(key="spend_outcome").set_value("median_days_to_close").run()
    kinds = at.selectbox(key="spend_category").options
    assert len(kinds) > 1
    second = at.selectbox(key="spend_category")
    # options are labels; the value is the category code behind the second label
    from neighbourhood.schemas import CATEGORY_LABELS

    code = next(c for c, label in CATEGORY_LABELS.items() if label == kinds[1])
    second.set_value(code).run()
    assert not at.exception
    link = _link(at)
    assert link["outcome"] == ["median_days_to_close"] and link["type"] == [code]
    again = _reopen("3_Spend_vs_results.py", link)
    assert again.selectbox(key="spend_category").value == code
    assert _figures(again) == _figures(at)
    # a type of case is only in the link while the outcome has one
    at.selectbox(key="spend_outcome").set_value("actions_per_100_fly_tips").run()
    assert "type" not in _link(at)
    hostile = _reopen("3_Spend_vs_results.py", {"programme": ["<b>x</b>"], "outcome": ["nope"]})
    assert hostile.selectbox(key="spend_outcome").value == "cases_per_1k"


def test_compare_link_keeps_council_group_year_and_trend(store: Path) -> None:
    from neighbourhood import compare as cmp
    from ui import compare as view

    page = "7_Compared_with_other_councils.py"
    at = _open(page)
    at.selectbox(key="compare_council").set_value("E08000003").run()  # Manchester
    assert not at.exception
    assert "core-cities" in cmp.GROUPS
    at.selectbox(key="compare_group_E08000003").set_value("core-cities").run()
    assert "2018/19" in at.selectbox(key="compare_year").options  # labels; values 2018-19
    at.selectbox(key="compare_year").set_value("2018-19").run()
    trend = list(view.TREND_METRICS)[1]
    at.selectbox(key="compare_trend").set_value(trend).run()
    assert not at.exception
    link = _link(at)
    assert link["council"] == ["E08000003"] and link["group"] == ["core-cities"]
    assert link["year"] == ["2018-19"] and link["trend"] == [trend]
    again = _reopen(page, link)
    assert again.selectbox(key="compare_council").value == "E08000003"
    assert again.selectbox(key="compare_group_E08000003").value == "core-cities"
    assert again.selectbox(key="compare_year").value == "2018-19"
    assert again.selectbox(key="compare_trend").value == trend
    assert _figures(again) == _figures(at)
    # values that are not options are ignored, never an error
    hostile = _reopen(
        page, {"council": ["<b>x</b>"], "group": ["nope"], "year": ["1066-67"], "trend": ["?"]}
    )
    assert hostile.selectbox(key="compare_year").value != "1066-67"
