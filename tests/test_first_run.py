"""The demo lives apart and a council starts with its own data from the app alone (issues #15, #17).

- A store restored from ``store.duckdb`` alone (its lock file gone) opens with every row intact
  and nothing added, through the command line and through the app.
- A fresh start offers the demo or the council's own data; the demo is built only into its own
  store (``NEIGHBOURHOOD_DEMO_STORE``).
- "Own data": boundaries, a population file and a cases file loaded on the Load data page give
  pages that mention no demo ward, no demo programme and no synthetic-data banner.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from page_support import LOCAL_SECRETS, folder_digest, texts
from streamlit.testing.v1 import AppTest

from conftest import REPO
from neighbourhood.__main__ import main
from neighbourhood.demo import PROGRAMME_NAME, build_demo, generate_demo
from neighbourhood.store import ALL_TABLES, Store

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")

DASHBOARD = ("app.py", "pages/1_Ward_map.py", "pages/2_Trends.py", "pages/5_Ward_profile.py")
ALL_PAGES = (*DASHBOARD, "pages/3_Spend_vs_results.py", "pages/6_Ingest_log.py")


# --- helpers --------------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "neighbourhood", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    return proc.returncode, json.loads(lines[-1])


def _rows(path: Path) -> dict[str, pa.Table]:
    """Every stored table, every row, in a fixed order (read without the store's helpers)."""
    import duckdb

    con = duckdb.connect(str(path / "store.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return {
            name: con.sql(f"SELECT * FROM {name} ORDER BY ALL").to_arrow_table()
            for name in (*ALL_TABLES, "meta")
        }
    finally:
        con.close()


def _assert_same_rows(before: dict[str, pa.Table], after: dict[str, pa.Table]) -> None:
    assert before.keys() == after.keys()
    for name, table in before.items():
        assert after[name].num_rows == table.num_rows, name
        assert after[name].equals(table), f"{name} changed"


def _app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.secrets = dict(LOCAL_SECRETS)
    at.user = {}
    return at


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small set of council-style extracts (the demo generator's files, loaded as own data)."""
    files = generate_demo(tmp_path_factory.mktemp("extracts"), n_cases=600, seed=5)
    return {
        "wards": files.wards,
        "population": files.population,
        "cleansing": files.cleansing,
        "enforcement": files.enforcement,
        "spend": files.spend,
    }


@pytest.fixture(scope="module")
def council_template(extracts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A council's store loaded through the command line (so marked as the council's)."""
    path = tmp_path_factory.mktemp("council") / "store"
    for kind in ("wards", "population", "spend", "cleansing", "enforcement"):
        code = main(["ingest", str(extracts[kind]), "--kind", kind, "--store", str(path)])
        assert code == 0, kind
    return path


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo store, built once (the app would build 60,000 cases)."""
    path = tmp_path_factory.mktemp("demo") / "demo-store"
    build_demo(Store(path), n_cases=500)
    return path


# --- a store restored from its database alone ------------------------------------------------


def _restored(template: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy2(template / "store.duckdb", dest / "store.duckdb")
    assert not (dest / "store.lock").exists()
    return dest


def test_a_store_restored_from_its_database_alone_is_intact_through_the_cli(
    council_template: Path, extracts: dict[str, Path], tmp_path: Path
) -> None:
    store = _restored(council_template, tmp_path / "restored")
    before = _rows(store)
    code, log = _cli("log", "--store", str(store))
    assert code == 0 and len(log["entries"]) == 5
    assert (store / "store.lock").is_file(), "the missing lock file is created again"
    code, out = _cli("metrics", "--store", str(store))
    assert code == 0
    # loading a case extract again: the stored wards are found (no "load ward boundaries first")
    code, out = _cli(
        "ingest", str(extracts["cleansing"]), "--kind", "cleansing", "--store", str(store)
    )
    assert code == 0, out
    assert out["status"] == "duplicate_file"
    after = _rows(store)
    log_before, log_after = before.pop("ingest_log"), after.pop("ingest_log")
    _assert_same_rows(before, after)
    assert log_after.num_rows == log_before.num_rows + 1  # the duplicate is recorded, nothing else
    # the demo refuses it, and leaves it byte-identical
    digest = folder_digest(store)
    code, out = _cli("demo", "--store", str(store), "--cases", "300")
    assert (code, out["code"]) == (2, "NOT_A_DEMO_STORE")
    assert folder_digest(store) == digest


def test_a_store_restored_from_its_database_alone_opens_in_the_app_with_nothing_added(
    council_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _restored(council_template, tmp_path / "restored")
    demo_dir = tmp_path / "demo-store"
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store))
    monkeypatch.setenv("NEIGHBOURHOOD_DEMO_STORE", str(demo_dir))
    before = _rows(store)
    at = _app().run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("Street cleansing"), (
        "the council's data, no first-run choice"
    )
    assert at.metric, "the overview's figures are drawn"
    assert "synthetic" not in texts(at) and not at.sidebar.info
    for page in DASHBOARD[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    _assert_same_rows(before, _rows(store))
    assert not demo_dir.exists(), "nothing builds the demo"


def test_a_store_whose_lock_was_deleted_takes_loads_and_keeps_its_wards(
    council_template: Path, tmp_path: Path
) -> None:
    from neighbourhood.ingest import ingest_bytes

    store = Store(_restored(council_template, tmp_path / "restored"))
    name = store.wards()["ward_name"].iloc[0]
    data = f"Case ID,Date Received,Request Type,Ward Name\nNEW-1,05/03/2026 10:00,Litter,{name}\n"
    result = ingest_bytes(store, data.encode(), "new.csv", "cleansing")
    assert (result.status, result.rows_new) == ("committed", 1)
    assert store.kind() == "council"


# --- the demo and the council's store never mix ----------------------------------------------


def test_the_demo_is_refused_into_a_store_marked_as_the_councils(tmp_path: Path) -> None:
    """Marked council at creation, even with no load left in it: byte-identical after."""
    from neighbourhood.demo import DemoRefused

    store = Store(tmp_path / "store")
    store.initialise()
    digest = folder_digest(store.path)
    with pytest.raises(DemoRefused, match="council's own data"):
        build_demo(store, n_cases=300)
    assert folder_digest(store.path) == digest


def test_the_demo_command_builds_into_its_own_store_and_never_into_the_councils(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "NEIGHBOURHOOD_STORE": str(tmp_path / "council"),
        "NEIGHBOURHOOD_DEMO_STORE": str(tmp_path / "demo"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "neighbourhood", "demo", "--cases", "300"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert Store(tmp_path / "demo").kind() == "demo"
    assert not (tmp_path / "council").exists()
    run = subprocess.run(
        [sys.executable, "-m", "neighbourhood", "demo", "--store", str(tmp_path / "council")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 2
    assert "never goes there" in json.loads(run.stdout.strip().splitlines()[-1])["message"]
    assert not (tmp_path / "council").exists()


def test_own_files_are_refused_into_the_demo_store(
    small_demo: Path, extracts: dict[str, Path], tmp_path: Path
) -> None:
    store = shutil.copytree(small_demo, tmp_path / "demo-store")
    digest = folder_digest(store)
    code, out = _cli(
        "ingest", str(extracts["cleansing"]), "--kind", "cleansing", "--store", str(store)
    )
    assert (code, out["status"], out["code"]) == (2, "refused", "F_DEMO_STORE")
    assert "synthetic demo" in out["message"]
    assert folder_digest(store) == digest


def test_a_store_made_before_the_marker_is_judged_by_its_ingest_log(
    small_demo: Path, council_template: Path, tmp_path: Path
) -> None:
    import duckdb

    for template, expected in ((small_demo, "demo"), (council_template, "council")):
        path = shutil.copytree(template, tmp_path / expected)
        con = duckdb.connect(str(path / "store.duckdb"))
        con.execute("DELETE FROM meta WHERE key = 'store_kind'")
        con.execute("CHECKPOINT")
        con.close()
        assert Store(path).kind() == expected
    from neighbourhood.demo import DemoRefused

    with pytest.raises(DemoRefused):
        build_demo(Store(tmp_path / "council"), n_cases=300)


# --- read-only stores -------------------------------------------------------------------------


def _without_root_override() -> list[str]:
    """A command prefix that runs without root's permission override (so file modes apply)."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        return []
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes cannot be enforced")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_a_read_only_store_is_refused_in_plain_words_and_still_reads(
    council_template: Path, extracts: dict[str, Path], tmp_path: Path
) -> None:
    store = _restored(council_template, tmp_path / "restored")  # no lock file, and none can be made
    (store / "store.duckdb").chmod(0o444)
    store.chmod(0o555)
    try:
        digest = folder_digest(store)
        prefix = _without_root_override()
        base = [*prefix, sys.executable, "-m", "neighbourhood"]
        run = subprocess.run(
            [
                *base,
                "ingest",
                str(extracts["population"]),
                "--kind",
                "population",
                "--store",
                str(store),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 2, run.stderr
        out = json.loads(run.stdout.strip().splitlines()[-1])
        assert "read-only" in out["message"] and "Nothing was changed" in out["message"]
        assert "IOException" not in run.stderr + run.stdout and "Traceback" not in run.stderr
        run = subprocess.run(
            [*base, "log", "--store", str(store)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        assert len(json.loads(run.stdout.strip().splitlines()[-1])["entries"]) == 5
        assert folder_digest(store) == digest
    finally:
        store.chmod(0o755)
        (store / "store.duckdb").chmod(0o644)


# --- the first-run choice in the app ----------------------------------------------------------


def test_a_fresh_start_offers_the_demo_or_the_councils_own_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("NEIGHBOURHOOD_DEMO_STORE", str(tmp_path / "demo-store"))
    at = _app().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Welcome to Neighbourhood"
    labels = {b.key: b.label for b in at.button}
    assert labels == {
        "first_run_own": "Load your council's data",
        "first_run_demo": "Explore the demo",
    }
    assert not at.metric, "no figures before a choice"
    assert not (tmp_path / "store").exists() and not (tmp_path / "demo-store").exists()
    # "own data" opens the Load data page with the checklist, and creates nothing yet
    at.button(key="first_run_own").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Load data"
    shown = texts(at)
    assert "Your council's data, step by step" in shown
    assert "Not loaded: rates per 1,000 residents stay blank" in shown
    assert at.selectbox(key="upload_kind").value == "wards", "the first step is chosen"
    assert not (tmp_path / "store").exists()


def test_choosing_the_demo_shows_its_store_with_the_banner_and_never_the_councils(
    small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("NEIGHBOURHOOD_DEMO_STORE", str(small_demo))
    digest = folder_digest(small_demo)
    at = _app().run()
    at.button(key="first_run_demo").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("Street cleansing")
    assert any("fictional city" in str(i.value) for i in at.sidebar.info)
    assert at.sidebar.button(key="demo_switch_own").label.startswith("Leave the demo")
    for page in ALL_PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    assert not (tmp_path / "store").exists()
    assert folder_digest(small_demo) == digest


# --- "own data" in the app alone ---------------------------------------------------------------


def _square(x: float, y: float, d: float) -> list:
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


def synthetic_council() -> tuple[bytes, bytes, bytes, list[str]]:
    """A small council (6 wards, not the demo's), its populations and 2 years of cases."""
    codes = [f"E0501{5400 + i}" for i in range(6)]
    names = ["Northgate", "Riverside", "Old Market", "Hillcrest", "Dockside", "Parkway"]
    features, points = [], []
    for i, (code, name) in enumerate(zip(codes, names, strict=True)):
        x, y = -2.98 + (i % 3) * 0.02, 53.40 + (i // 3) * 0.02
        features.append(
            {
                "type": "Feature",
                "properties": {"WD23CD": code, "WD23NM": name},
                "geometry": {"type": "Polygon", "coordinates": _square(x, y, 0.02)},
            }
        )
        points.append((x + 0.01, y + 0.01))
    wards = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return wards, *_population_and_cases(codes, names, points), names


def _population_and_cases(
    codes: list[str], names: list[str], points: list[tuple[float, float]]
) -> tuple[bytes, bytes]:
    population = "Ward Code,Ward Name,Population,Year\n" + "".join(
        f"{c},{n},{9000 + 500 * i},2025\n"
        for i, (c, n) in enumerate(zip(codes, names, strict=True))
    )
    kinds = ["Fly Tipping", "Litter", "Graffiti", "Dog Fouling"]
    lines = ["Case ID,Date Received,Request Type,Latitude,Longitude,Status,Date Closed"]
    n = 0
    for month in range(24):
        year, mon = 2024 + month // 12, month % 12 + 1
        for w, (lon, lat) in enumerate(points):
            for k in range(3 + (w + month) % 4):
                n += 1
                day = 1 + (k * 7) % 27
                lines.append(
                    f"OWN-{n:05d},{day:02d}/{mon:02d}/{year} 10:00,{kinds[(n + w) % 4]},"
                    f"{lat + 0.0005 * (k % 5):.5f},{lon + 0.0005 * (k % 3):.5f},Closed,"
                    f"{min(day + 3, 28):02d}/{mon:02d}/{year} 16:00"
                )
    return population.encode(), ("\n".join(lines) + "\n").encode()


def _load(at: AppTest, kind: str, name: str, data: bytes) -> None:
    at.selectbox(key="upload_kind").set_value(kind).run()
    mime = "application/geo+json" if kind == "wards" else "text/csv"
    at.file_uploader(key="upload_files").set_value((name, data, mime)).run()
    assert not at.exception, at.exception
    at.button(key="upload_load").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any(m.label == "Accepted" for m in at.metric), texts(at)
    at.file_uploader(key="upload_files").set_value([]).run()


def _own_data_in_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[tuple[str, str, bytes]]
) -> tuple[AppTest, Path]:
    store = tmp_path / "store"
    demo_dir = tmp_path / "demo-store"
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store))
    monkeypatch.setenv("NEIGHBOURHOOD_DEMO_STORE", str(demo_dir))
    at = _app().run()
    at.button(key="first_run_own").click().run()
    assert at.title[0].value == "Load data"
    for kind, name, data in files:
        _load(at, kind, name, data)
    shown = texts(at)
    assert "1. Ward boundaries**: 6 wards" in shown or "Ward boundaries" in shown
    assert Store(store).kind() == "council"
    assert not demo_dir.exists()
    return at, store


def _assert_no_demo_anywhere(at: AppTest, store: Path) -> None:
    from neighbourhood.demo import _make_world

    demo_wards = _make_world(2024, None).wards_wgs84
    demo_names = set(demo_wards["ward_name"])
    for page in ALL_PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        shown = texts(at) + " ".join(str(s.options) for s in at.selectbox)
        shown += " ".join(str(m.options) for m in at.multiselect)
        shown += " ".join(str(d.value) for d in at.dataframe)
        assert "synthetic" not in shown.lower(), page
        assert "fictional" not in shown.lower(), page
        assert PROGRAMME_NAME not in shown, page
        assert "E059" not in shown, page
        assert not [n for n in demo_names if n in shown], page
        assert not at.sidebar.info, page
        if page == "app.py":
            assert at.metric, "the overview shows the council's figures"
        if page == "pages/3_Spend_vs_results.py":
            assert "No funding programme found" in shown


def test_own_data_loaded_in_the_app_alone_shows_no_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wards, population, cases, names = synthetic_council()
    at, store = _own_data_in_the_app(
        tmp_path,
        monkeypatch,
        [
            ("wards", "our_wards.geojson", wards),
            ("population", "population.csv", population),
            ("cleansing", "cases.csv", cases),
        ],
    )
    shown = texts(at)
    assert "6 wards loaded" in shown and "6 population rows loaded" in shown
    assert "Optional. Not loaded: enforcement figures" in shown
    _assert_no_demo_anywhere(at, store)
    at.switch_page("pages/1_Ward_map.py").run()
    table = " ".join(str(d.value) for d in at.dataframe)
    assert all(n in table for n in names), "the map's table lists the council's own wards"


def test_own_data_on_liverpool_2023_wards_loaded_in_the_app_alone_shows_no_demo(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neighbourhood.geo import read_boundaries

    path = shared_data / "liverpool-wards-2023" / "liverpool_wards_2023_wgs84.geojson"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    wards = read_boundaries(path.read_bytes(), path.name).wards  # codes and names as stored
    inside = wards.geometry.representative_point()
    population, cases = _population_and_cases(
        [str(c) for c in wards["ward_code"]],
        [str(n) for n in wards["ward_name"]],
        [(p.x, p.y) for p in inside],
    )
    at, store = _own_data_in_the_app(
        tmp_path,
        monkeypatch,
        [
            ("wards", path.name, path.read_bytes()),
            ("population", "population.csv", population),
            ("cleansing", "cases.csv", cases),
        ],
    )
    assert len(Store(store).wards()) == 64
    _assert_no_demo_anywhere(at, store)


# --- every page shows only the boundary set in use ---------------------------------------------


def _renamed(wards: bytes, prefix: str) -> tuple[bytes, list[str]]:
    """The same shapes as a new boundary set: new codes and names."""
    doc = json.loads(wards)
    names = []
    for i, f in enumerate(doc["features"]):
        f["properties"] = {"WD23CD": f"{prefix}{i:03d}", "WD23NM": f"New Ward {chr(65 + i)}"}
        names.append(f["properties"]["WD23NM"])
    return json.dumps(doc).encode(), names


def test_pages_show_only_the_boundary_set_in_use_and_say_what_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neighbourhood.ingest import ingest_bytes

    wards, population, cases, old_names = synthetic_council()
    new_wards, new_names = _renamed(wards, "E05016")
    store = Store(tmp_path / "store")
    for kind, name, data in (
        ("wards", "wards-2019.geojson", wards),
        ("population", "population.csv", population),
        ("cleansing", "cases.csv", cases),
        ("wards", "wards-2023.geojson", new_wards),
    ):
        assert ingest_bytes(store, data, name, kind).status == "committed"
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store.path))
    at = _app().run()
    for page in ALL_PAGES[:5]:
        if page != "app.py":
            at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        shown = texts(at)
        shown += " ".join(str(s.options) for s in [*at.selectbox, *at.multiselect])
        shown += " ".join(str(d.value) for d in at.dataframe)
        assert not [n for n in old_names if n in shown], page
        warning = " ".join(str(w.value) for w in at.warning)
        assert "are on wards that are not in the boundary set in use" in warning, page
        assert "load those extracts again on the **Load data** page" in warning, page
        if page in ("pages/1_Ward_map.py", "pages/5_Ward_profile.py"):
            assert all(n in shown for n in new_names), page
    # the one action that fixes it: the extracts loaded again (the same case file will do; the
    # population file for the new wards)
    assert ingest_bytes(store, cases, "cases.csv", "cleansing").status == "committed"
    new_codes = [f"E05016{i:03d}" for i in range(6)]
    new_population = "Ward Code,Population,Year\n" + "".join(f"{c},9000,2025\n" for c in new_codes)
    result = ingest_bytes(store, new_population.encode(), "population-2023.csv", "population")
    assert result.rows_new == 6
    at = _app().run()
    assert not at.exception, at.exception
    assert "not in the boundary set in use" not in " ".join(str(w.value) for w in at.warning)


def test_a_read_only_store_is_a_plain_error_on_the_load_data_page(
    council_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's load meets a store it cannot write (simulated: this test may run as root)."""
    from page_support import page

    import neighbourhood.store as store_module

    path = shutil.copytree(council_template, tmp_path / "store")
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(path))
    real_access = os.access
    monkeypatch.setattr(
        store_module.os,
        "access",
        lambda p, mode, **kw: False if mode == os.W_OK else real_access(p, mode, **kw),
    )
    digest = folder_digest(path)
    name = Store(path).wards()["ward_name"].iloc[0]
    data = f"Case ID,Date Received,Request Type,Ward Name\nRO-1,05/03/2026 10:00,Litter,{name}\n"
    at = page("4_Upload.py")
    at.run()
    at.selectbox(key="upload_kind").set_value("cleansing").run()
    at.file_uploader(key="upload_files").set_value(("new.csv", data.encode(), "text/csv")).run()
    at.button(key="upload_load").click().run()
    assert not at.exception, at.exception
    [error] = [e.value.replace("\\", "") for e in at.error if "was refused" in e.value]
    assert "cannot be written" in error and "read-only" in error and "IOException" not in error
    assert folder_digest(path) == digest


def test_a_councils_folder_holding_the_demo_says_to_move_it_before_anything_is_loaded(
    small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older version built the demo into data/store: the Load data page says what to do."""
    from page_support import page

    path = shutil.copytree(small_demo, tmp_path / "store")
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(path))
    at = page("4_Upload.py")
    at.run()
    assert not at.exception, at.exception
    [error] = [e.value for e in at.error]
    assert "holds the synthetic demo" in error and "Move that folder to" in error
