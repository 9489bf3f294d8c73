"""AppTest: the Load data page (pages/4_Upload.py).

Uploads are driven with ``at.file_uploader(key=...).set_value((name, bytes, mime))``, which
streamlit 1.67's testing API supports (``streamlit/testing/v1/element_tree.py``, ``FileUploader``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from page_support import (
    copy_store,
    council_store,
    folder_digest,
    page,
    texts,
    viewer,
)

from neighbourhood.store import Store
from ui import upload

PAGE = "4_Upload.py"
LOCAL = {"roles": {"analysts": []}}  # secrets without [auth]: local mode


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return council_store(tmp_path_factory.mktemp("upload"))


@pytest.fixture
def store(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = copy_store(template, tmp_path / "store")
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(path))
    return path


def _good_csv(store: Path) -> bytes:
    names = list(Store(store).wards()["ward_name"][:3])
    return (
        "Case Ref,Date Received,Request Type,Ward Name,Status\n"
        f"UP-0001,05/03/2025 14:22,Fly Tipping,{names[0]},Open\n"
        f"UP-0002,06/03/2025 09:00,Litter,{names[1]},Open\n"
        f'UP-0003,07/03/2025 10:30,"=HYPERLINK(""http://x"")",{names[2]},Open\n'
        f"UP-0004,not a date,Litter,{names[2]},Open\n"
    ).encode()


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_good_file_lands_with_counts_and_store_changes(store: Path) -> None:
    before = Store(store).revision()
    at = page(PAGE, secrets=LOCAL)
    at.run()
    assert not at.exception
    assert "Local mode" in texts(at)
    at.file_uploader(key="upload_files").set_value(("new_cases.csv", _good_csv(store), "text/csv"))
    at.run()
    assert not at.exception
    assert "Dry run" in texts(at)
    assert Store(store).revision() == before  # nothing loaded before the button
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    counts = _metrics(at)
    assert counts["Rows read"] == "4"
    assert counts["Accepted"] == "3"
    assert counts["Rejected"] == "1"
    assert counts["New"] == "3"
    assert counts["Updated"] == "0"
    assert Store(store).revision() != before
    log = Store(store).log()
    assert log.iloc[0]["file_name"] == "new_cases.csv"
    assert log.iloc[0]["channel"] == "upload"
    # rejects table and a formula-safe CSV download
    assert len(at.dataframe) >= 1
    assert any(b.label.startswith("Download the problems") for b in at.get("download_button"))


def test_big_file_read_in_slices_lands_with_the_same_counts(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file bigger than one slice is read in slices (progress moves within the file)."""
    monkeypatch.setenv("NEIGHBOURHOOD_SLICE_BYTES", "200")
    data = _good_csv(store)
    header, *rows = data.decode().splitlines()
    body = "\n".join(rows)
    more = [r.replace("UP-000", f"UP-1{i:02d}") for i in range(12) for r in rows[:2]]
    data = (header + "\n" + body + "\n" + "\n".join(more) + "\n").encode()
    import ui.upload

    shares: list[float] = []
    real = ui.upload._file_progress

    def recording(bar: object, index: int, total: int) -> object:
        update = real(bar, index, total)

        def both(share: float) -> None:
            shares.append(share)
            update(share)

        return both

    monkeypatch.setattr(ui.upload, "_file_progress", recording)
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("big_cases.csv", data, "text/csv"))
    at.run()
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    counts = _metrics(at)
    assert counts["Rows read"] == str(4 + len(more))
    assert counts["Accepted"] == str(3 + len(more))
    assert counts["Rejected"] == "1"
    log = Store(store).log()
    assert log.iloc[0]["file_name"] == "big_cases.csv"
    assert len(shares) > 1 and shares == sorted(shares)  # read in slices, progress moving


def test_rejects_download_is_formula_safe(store: Path) -> None:
    from neighbourhood.export import to_csv_bytes

    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("new_cases.csv", _good_csv(store), "text/csv"))
    at.run()
    at.button(key="upload_load").click()
    at.run()
    outcome = at.session_state["upload_outcomes"][0]
    assert (outcome.rejects["value"].astype(str).str.startswith("=")).any()  # the bait is there
    rows = list(csv.reader(io.StringIO(to_csv_bytes(outcome.rejects).decode("utf-8-sig"))))
    assert not any(cell.startswith(("=", "+", "@")) for row in rows[1:] for cell in row)


def test_malformed_file_shows_error_and_store_is_byte_identical(store: Path) -> None:
    before = folder_digest(store)
    at = page(PAGE, secrets=LOCAL)
    at.run()
    bad = b"this,is,not\n1,a,cleansing extract\n"
    at.file_uploader(key="upload_files").set_value(("bad.csv", bad, "text/csv"))
    at.run()
    assert not at.exception
    assert at.error, "a refused file must show st.error"
    assert "refused" in at.error[0].value
    assert "Traceback" not in texts(at)
    assert at.button(key="upload_load").disabled  # nothing loadable: no way to press Load
    assert folder_digest(store) == before


def test_file_refused_at_load_shows_reason_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path
) -> None:
    """A file that reads fine but cannot be stored (no ward boundaries loaded yet)."""
    empty = tmp_path / "empty-store"
    empty.mkdir()
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(empty))
    before = folder_digest(empty)
    at = page(PAGE, secrets=LOCAL)
    at.run()
    assert at.selectbox(key="upload_kind").value == "wards"  # the checklist's first step
    at.selectbox(key="upload_kind").set_value("cleansing").run()
    at.file_uploader(key="upload_files").set_value(("cases.csv", _good_csv(template), "text/csv"))
    at.run()
    assert not at.error
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    assert at.error and "was refused" in at.error[0].value
    assert "Nothing from this file was loaded" in at.error[0].value
    assert folder_digest(empty) == before


def test_column_mapping_fixes_a_refused_file(store: Path) -> None:
    names = list(Store(store).wards()["ward_name"][:1])
    data = f"Ticket,When,Request Type,Ward Name\nMAP-1,05/03/2025 14:22,Litter,{names[0]}\n"
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("odd.csv", data.encode(), "text/csv"))
    at.run()
    assert at.error  # Ticket / When are not recognised
    editor_key = next(k for k in at.session_state.keys() if k.startswith("map_"))
    fid = editor_key[len("map_") :]
    at.session_state[f"map_{fid}"] = {
        "edited_rows": {0: {"use_as": "case_id"}, 1: {"use_as": "reported_at"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    assert not at.error
    at.button(key="upload_load").click()
    at.run()
    assert _metrics(at)["New"] == "1"


def test_viewer_sees_no_upload_controls(store: Path) -> None:
    at = viewer(PAGE)
    at.run()
    assert not at.exception
    assert len(at.get("file_uploader")) == 0
    assert len(at.main.button) == 0
    assert [b.key for b in at.sidebar.button] == ["auth_sign_out"]  # on every page when signed in
    assert "Only analysts can load data" in texts(at)


def test_signed_out_with_auth_is_asked_to_sign_in(store: Path) -> None:
    from page_support import AUTH_SECRETS

    at = page(PAGE, secrets=AUTH_SECRETS, user={"is_logged_in": False})
    at.run()
    assert not at.exception
    assert len(at.get("file_uploader")) == 0
    assert at.button(key="auth_sign_in").label == "Sign in"


def test_analyst_sees_upload_controls_without_local_notice(store: Path) -> None:
    from page_support import analyst

    at = analyst(PAGE)
    at.run()
    assert not at.exception
    assert len(at.get("file_uploader")) == 1
    assert "Local mode" not in texts(at)


def test_cases_before_any_ward_boundaries_are_told_to_load_the_boundaries_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty_store"
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(empty))
    data = (
        b"Case Ref,Date Received,Request Type,Ward Name,Status\n"
        b"UP-0001,05/03/2025 14:22,Fly Tipping,Anfield,Open\n"
    )
    at = page(PAGE, secrets=LOCAL)
    at.run()
    assert not [w.value for w in at.warning if "No ward boundaries" in w.value]
    at.selectbox(key="upload_kind").set_value("cleansing").run()
    at.file_uploader(key="upload_files").set_value(("cases.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    # Told before pressing Load, in the page's own words (not the command line's).
    [warning] = [w.value for w in at.warning if "No ward boundaries" in w.value]
    assert "**Ward boundaries**" in warning
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    [error] = [e.value for e in at.error if "was refused" in e.value]
    assert "load ward boundaries first" in error and "**Ward boundaries**" in error
    assert not (empty / "store.duckdb").exists()  # nothing was loaded, no store was made


def test_no_ward_boundaries_warning_is_not_shown_once_they_are_loaded(store: Path) -> None:
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("new_cases.csv", _good_csv(store), "text/csv"))
    at.run()
    assert not at.exception
    assert "No ward boundaries" not in texts(at)
    # choosing the boundaries themselves never warns either
    assert not upload.wards_missing("wards")


# --- the tester's defects (docs/ui.md, "Load data") --------------------------------------------


def _new_boundaries(store: Path, keep: int = 0) -> bytes:
    """The store's wards as a GeoJSON whose ward codes are new, except the first ``keep``."""
    wards = Store(store).wards()[["ward_code", "ward_name", "geometry"]]
    wards = wards.rename(columns={"ward_code": "WD99CD", "ward_name": "WD99NM"})
    wards["WD99CD"] = [
        code if i < keep else f"E05999{i:03d}" for i, code in enumerate(wards["WD99CD"])
    ]
    return wards.to_json().encode()


def _choose_wards(at) -> None:
    at.selectbox(key="upload_kind").set_value("wards")
    at.run()


def _stale_counts(store: Path, kept: list[str]) -> dict[str, tuple[int, int]]:
    s = Store(store)
    out = {}
    for table in ("cases", "enforcement", "spend", "population"):
        codes = s.table(table)["ward_code"].dropna().astype(str)
        codes = codes[codes != "citywide"]
        out[table] = (int((~codes.isin(kept)).sum()), len(codes))
    return out


def test_new_ward_boundaries_warn_before_and_after_load_how_many_rows_they_leave_out(
    store: Path,
) -> None:
    kept = list(Store(store).wards()["ward_code"][:2])
    stale = _stale_counts(store, kept)
    assert all(m for m, _ in stale.values())  # every table has rows the new set leaves out
    at = page(PAGE, secrets=LOCAL)
    at.run()
    _choose_wards(at)
    at.file_uploader(key="upload_files").set_value(
        ("wards_2023.geojson", _new_boundaries(store, keep=2), "application/geo+json")
    )
    at.run()
    assert not at.exception
    [before] = [w.value for w in at.warning if "do not match the data already stored" in w.value]
    assert before.startswith("**Check before you load")
    m, n = stale["cases"]
    assert f"{m:,} of {n:,} street-cleansing cases" in before
    for table, noun in (
        ("enforcement", "enforcement case"),
        ("spend", "spend row"),
        ("population", "population row"),
    ):
        assert f"{stale[table][0]:,} of {stale[table][1]:,} {noun}" in before
    assert "**Ingest log**" in before
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    assert Store(store).active_boundary_set() == "wards_2023"
    [after] = [w.value for w in at.warning if "do not match the data already stored" in w.value]
    assert after.startswith("**These ward boundaries do not match")
    assert f"{m:,} of {n:,} street-cleansing cases" in after and "now in use" in after
    assert at.button(key="upload_load").disabled
    assert "settings" not in texts(at)  # boundary files have none


def test_the_same_ward_codes_again_do_not_warn(store: Path) -> None:
    at = page(PAGE, secrets=LOCAL)
    at.run()
    _choose_wards(at)
    n_wards = len(Store(store).wards())
    at.file_uploader(key="upload_files").set_value(
        ("same.geojson", _new_boundaries(store, keep=n_wards), "application/geo+json")
    )
    at.run()
    assert not at.exception
    assert "do not match the data already stored" not in texts(at)
    assert f"Read **{n_wards:,} wards**" in texts(at)


def test_damaged_boundary_file_says_why_and_mentions_no_settings(store: Path) -> None:
    before = folder_digest(store)
    damaged = _new_boundaries(store)[:3000]  # the first 3 KB of a GeoJSON
    at = page(PAGE, secrets=LOCAL)
    at.run()
    _choose_wards(at)
    at.file_uploader(key="upload_files").set_value(("cut.geojson", damaged, "application/json"))
    at.run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "BoundaryRefused" not in error
    assert "line 1" in error and "Unterminated" in error and "cut short" in error
    assert "settings" not in texts(at)
    assert at.button(key="upload_load").disabled
    assert folder_digest(store) == before


def test_shapefile_with_a_wrong_prj_gets_one_projection_statement(store: Path) -> None:
    from test_upload_helpers import _bng_shapefile_with_wgs84_prj

    at = page(PAGE, secrets=LOCAL)
    at.run()
    _choose_wards(at)
    at.file_uploader(key="upload_files").set_value(
        ("wards.zip", _bng_shapefile_with_wgs84_prj(), "application/zip")
    )
    at.run()
    assert not at.exception
    shown = texts(at)
    assert "map projection EPSG:4326" not in shown  # the old, contradicting statement
    assert ".prj says longitude/latitude in degrees (WGS84, EPSG:4326)" in shown
    assert "probably wrong" in shown and shown.count("probably wrong") == 1


def test_problems_table_after_load_has_plain_headings_and_the_files_column_names(
    store: Path,
) -> None:
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("new_cases.csv", _good_csv(store), "text/csv"))
    at.run()
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    [problems] = [d.value for d in at.dataframe if "Problem" in d.value.columns]
    assert list(problems.columns) == [
        "Line",
        "Case",
        "Column in your file",
        "Value",
        "Problem",
        "Severity",
        "Code",
    ]
    row = problems[problems["Case"] == "UP-0004"].iloc[0]
    assert row["Column in your file"] == "Date Received"
    assert row["Problem"].startswith("'Date Received' is not a date")
    assert row["Severity"] == "Row not loaded" and row["Code"] == "E_DATE_FORMAT"
    assert "committed" not in texts(at) and "duplicate_file" not in texts(at)


def test_the_preview_finds_the_rows_the_load_would_reject_for_their_ward(store: Path) -> None:
    names = list(Store(store).wards()["ward_name"][:1])
    data = (
        "Case Ref,Date Received,Request Type,Ward Name,Status\n"
        f"W-1,05/03/2025 14:22,Litter,{names[0]},Open\n"
        "W-2,05/03/2025 14:22,Litter,Nowhere Ward,Open\n"
    ).encode()
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("wards.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    [problems] = [d.value for d in at.dataframe if "Problem" in d.value.columns]
    row = problems[problems["Case"] == "W-2"].iloc[0]
    assert (row["Line"], row["Code"], row["Severity"]) == (3, "E_UNKNOWN_WARD", "Row not loaded")
    before = texts(at)
    at.button(key="upload_load").click()
    at.run()
    assert "1 problem" in before or "1 problems" in before  # the same count the load gives
    assert Store(store).table("cases").query("case_id == 'W-2'").empty


def test_ragged_csv_says_which_line_has_how_many_fields(store: Path) -> None:
    names = list(Store(store).wards()["ward_name"][:1])
    data = (
        "Case Ref,Date Received,Request Type,Ward Name,Status\n"
        f"R-1,05/03/2025 14:22,Litter,{names[0]},Open\n"
        f"R-2,05/03/2025 14:22,Litter,{names[0]},Open,extra,more\n"
    ).encode()
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("ragged.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "line 3 has 7 fields where the header has 5" in error
    assert "tokenizing" not in error and "C error" not in error


def test_preview_shows_empty_cells_as_a_dash_not_none(store: Path) -> None:
    # issue #17: "–" with a legend for a missing value everywhere, never "None"
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("new_cases.csv", _good_csv(store), "text/csv"))
    at.run()
    assert not at.exception
    [table] = [d for d in at.dataframe if "case_id" in d.value.columns]
    head = table.value
    assert "closed_at" in head.columns  # not in the file: every cell empty
    assert head["closed_at"].isna().all() and table.proto.placeholder == "–"
    assert not (head == "None").any().any()
    assert "– : the cell is empty in the file." in texts(at)


def test_after_loading_the_preview_says_loaded_and_load_is_not_offered_again(
    store: Path,
) -> None:
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("new_cases.csv", _good_csv(store), "text/csv"))
    at.run()
    assert at.button(key="upload_load").label == "Load 1 file"
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    assert "Nothing has been loaded yet" not in texts(at)
    assert any(s.value.startswith("Loaded (ingest") for s in at.success)
    button = at.button(key="upload_load")
    assert button.disabled and button.label == "Loaded: see the result below"
    assert _metrics(at)["New"] == "3"  # the result stays on the page
    # another date format is another load: offered again
    fid = next(k for k in at.session_state.keys() if k.startswith("dte_"))
    at.selectbox(key=fid).set_value("monthfirst")
    at.run()
    assert not at.button(key="upload_load").disabled
