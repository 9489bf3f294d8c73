"""Role logic in ui/auth.py, without running Streamlit."""

from __future__ import annotations

import tomllib

import pytest

from conftest import REPO
from ui.auth import (
    analyst_emails,
    auth_configured,
    local_writes_allowed,
    role_for,
)

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x"}
SECRETS = {"auth": AUTH, "roles": {"analysts": ["Ana.Lyst@council.gov.uk", " b@council.gov.uk "]}}


def test_local_mode_without_auth_section_everyone_is_analyst() -> None:
    assert role_for(None, {}) == "analyst"
    assert role_for("someone@example.com", {"roles": {"analysts": []}}) == "analyst"


def test_empty_auth_section_is_local_mode() -> None:
    assert not auth_configured({"auth": {}})
    assert role_for(None, {"auth": {}}) == "analyst"


def test_listed_email_is_analyst_case_insensitive_and_stripped() -> None:
    assert role_for("ana.lyst@council.gov.uk", SECRETS) == "analyst"
    assert role_for("  ANA.LYST@COUNCIL.GOV.UK ", SECRETS) == "analyst"
    assert role_for("b@council.gov.uk", SECRETS) == "analyst"


def test_unlisted_email_is_viewer() -> None:
    assert role_for("councillor@council.gov.uk", SECRETS) == "viewer"


@pytest.mark.parametrize("email", [None, "", "   "])
def test_nobody_signed_in_with_auth_is_viewer(email: str | None) -> None:
    assert role_for(email, SECRETS) == "viewer"


def test_auth_without_roles_section_means_no_analysts() -> None:
    assert role_for("ana.lyst@council.gov.uk", {"auth": AUTH}) == "viewer"


def test_single_string_analyst_list_is_accepted() -> None:
    secrets = {"auth": AUTH, "roles": {"analysts": "solo@council.gov.uk"}}
    assert analyst_emails(secrets) == frozenset({"solo@council.gov.uk"})
    assert role_for("Solo@council.gov.uk", secrets) == "analyst"


def test_email_domain_lookalike_is_not_analyst() -> None:
    assert role_for("ana.lyst@council.gov.uk.evil.example", SECRETS) == "viewer"


def test_secrets_that_raise_count_as_local_mode() -> None:
    class Broken(dict):
        def get(self, *_a, **_k):
            raise FileNotFoundError("no secrets.toml")

    assert not auth_configured(Broken())
    assert analyst_emails(Broken()) == frozenset()


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        (None, True),
        ("", True),
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_local_writes_only_when_bound_to_this_computer(address: str | None, allowed: bool) -> None:
    assert local_writes_allowed(address) is allowed


def test_secrets_example_parses_and_turns_on_auth() -> None:
    example = tomllib.loads((REPO / ".streamlit" / "secrets.toml.example").read_text())
    assert auth_configured(example)
    assert role_for("first.analyst@council.gov.uk", example) == "analyst"
    assert role_for("councillor@council.gov.uk", example) == "viewer"
