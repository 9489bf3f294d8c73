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
    demo_store,
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
    return demo_store(tmp_path_factory.mktemp("upload"))


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
