"""Enforcement labels as councils write them, mapped like categories (brackets, dashes,
statute references, initials with dots) through data/value_map.csv."""

from __future__ import annotations

import pandas as pd
import pytest

from neighbourhood.loaders import ReadOptions, read_extract

NOW = pd.Timestamp("2025-01-01", tz="Europe/London")

# (label, field, expected value) — real-world labels from council enforcement registers,
# FPN systems and FOI answers.
TABLE: list[tuple[str, str, str]] = [
    ("Fly-tipping (s33 EPA)", "offence", "fly_tipping"),
    ("Duty of Care (s34)", "offence", "duty_of_care"),
    ("EPA s.34", "offence", "duty_of_care"),
    ("Section 87 EPA 1990 - Littering", "offence", "littering"),
    ("s87 EPA", "offence", "littering"),
    ("Littering (s87 Environmental Protection Act 1990)", "offence", "littering"),
    ("Fly tipping - small van load", "offence", "fly_tipping"),
    ("Flytipping: household waste", "offence", "fly_tipping"),
    ("Littering from a vehicle", "offence", "littering"),
    ("Dog Fouling (PSPO)", "offence", "dog_fouling"),
    ("Graffiti on bus shelter", "offence", "graffiti"),
    ("Fly-posting - A-boards", "offence", "fly_posting"),
    ("Waste receptacles (s46)", "offence", "waste_receptacle"),
    ("Section 47 EPA", "offence", "waste_receptacle"),
    ("Side waste - presentation", "offence", "waste_receptacle"),
    ("Commercial duty of care (s.34 EPA 1990)", "offence", "duty_of_care"),
    ("S33ZA", "offence", "fly_tipping"),
    ("Dropping litter – cigarette end", "offence", "littering"),
    ("F.P.N.", "action", "fixed_penalty_notice"),
    ("FPN", "action", "fixed_penalty_notice"),
    ("F.P.N. issued", "action", "fixed_penalty_notice"),
    ("Fixed Penalty Notice (Littering)", "action", "fixed_penalty_notice"),
    ("Fixed penalty notice - fly-tipping (s33ZA)", "action", "fixed_penalty_notice"),
    ("FPN - paid", "action", "fixed_penalty_notice"),
    ("Warning letter sent", "action", "warning_letter"),
    ("Formal warning", "action", "warning_letter"),
    ("Community Protection Notice (s43 ASB Act 2014)", "action", "community_protection_notice"),
    ("C.P.N.", "action", "community_protection_notice"),
    ("Section 34 notice served", "action", "statutory_notice"),
    ("Prosecution - Magistrates", "action", "prosecution"),
    ("Prosecuted", "action", "prosecution"),
    ("Simple caution (adult)", "action", "formal_caution"),
    ("Vehicle seized (s34B)", "action", "vehicle_seized"),
    ("N.F.A.", "action", "no_further_action"),
    ("No further action - insufficient evidence", "action", "no_further_action"),
    ("Investigation: ongoing", "action", "investigation"),
    ("Paid (reduced)", "outcome", "paid"),
    ("Paid - early payment", "outcome", "paid"),
    ("Paid in full (£100)", "outcome", "paid"),
    ("Unpaid - referred to court", "outcome", "unpaid"),
    ("Not paid: passed to legal", "outcome", "unpaid"),
    ("Cancelled - officer error", "outcome", "cancelled"),
    ("Withdrawn (insufficient evidence)", "outcome", "withdrawn"),
    ("Guilty plea - fined £400", "outcome", "convicted"),
    ("Found guilty in absence", "outcome", "convicted"),
    ("Not guilty", "outcome", "acquitted"),
    ("Awaiting payment (14 days)", "outcome", "pending"),
    ("Awaiting court date", "outcome", "pending"),
    ("Adjourned to 12/05", "outcome", "pending"),
]


def test_the_table_is_big_enough() -> None:
    assert len(TABLE) >= 40
    assert {f for _, f, _ in TABLE} == {"action", "offence", "outcome"}


def _read(labels: list[tuple[str, str, str]]) -> pd.DataFrame:
    lines = ["Case Ref,Date Issued,Action,Offence,Outcome,Ward"]
    for i, (label, field, _) in enumerate(labels):
        row = {"action": "FPN", "offence": "Other", "outcome": ""}
        row[field] = label
        cells = [f"E{i}", "05/03/2024", row["action"], row["offence"], row["outcome"], "Anfield"]
        lines.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
    data = ("\n".join(lines) + "\n").encode()
    ex = read_extract(data, "e.csv", "enforcement", ReadOptions(now=NOW))
    assert ex.rows_rejected == 0, ex.rejects.to_dict("records")
    return ex


@pytest.mark.parametrize(("label", "field", "value"), TABLE)
def test_enforcement_label(label: str, field: str, value: str) -> None:
    ex = _read([(label, field, value)])
    assert ex.frame.loc[0, field] == value
    assert ex.rejects.empty, ex.rejects.to_dict("records")


def test_labels_that_fit_nothing_are_still_flagged() -> None:
    ex = _read([("Part paid", "outcome", ""), ("Words of no meaning", "offence", "")])
    assert set(ex.rejects["rule"]) == {"W_UNKNOWN_OUTCOME", "W_UNMAPPED_OFFENCE"}
