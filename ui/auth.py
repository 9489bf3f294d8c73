"""Who is looking at the app, and may they load or undo data?

Two roles: **viewers** (councillors, managers) read every page; **analysts** may also load
extracts and undo loads. Streamlit has no authorisation of its own (notes/reliability.md §2), so
every page that writes calls :func:`require_analyst` at the top.

- With an ``[auth]`` section in ``secrets.toml`` the app uses OIDC (``st.login`` / ``st.user``)
  and the analyst list in ``[roles] analysts = [...]``.
- Without ``[auth]`` the app is in **local mode**: it should only listen on this computer
  (``server.address = "localhost"``), anyone who can open it may load data, and each writing
  page says so.

The decision itself (:func:`role_for`) is a pure function, tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from ui.text import md

Role = Literal["analyst", "viewer"]

LOCAL_ACTOR = "local"
LOCAL_MODE_NOTICE = "Local mode: anyone who can open this app can load data."
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


# --- pure logic -------------------------------------------------------------------------------


def auth_configured(secrets: Mapping[str, Any]) -> bool:
    """True when ``secrets`` has a non-empty ``[auth]`` section (OIDC login is on)."""
    try:
        section = secrets.get("auth")
    except Exception:  # st.secrets raises when no secrets.toml exists at all
        return False
    return bool(section)


def analyst_emails(secrets: Mapping[str, Any]) -> frozenset[str]:
    """The analyst list from ``[roles] analysts``, lower-cased and stripped.

    A single string is accepted as a one-person list; anything else counts as empty.
    """
    try:
        roles = secrets.get("roles") or {}
        listed = roles.get("analysts") or ()
    except Exception:
        return frozenset()
    if isinstance(listed, str):
        listed = (listed,)
    return frozenset(str(e).strip().lower() for e in listed if str(e).strip())


def role_for(user_email: str | None, secrets: Mapping[str, Any]) -> Role:
    """Decide a user's role.

    Parameters
    ----------
    user_email
        The signed-in user's e-mail (``st.user.email``), or ``None`` when nobody is signed in.
    secrets
        ``st.secrets`` or any mapping shaped like it.

    Returns
    -------
    ``"analyst"`` or ``"viewer"``. Without ``[auth]`` (local mode) everyone is an analyst. With
    ``[auth]``, only a signed-in e-mail on the analyst list (compared case-insensitively) is
    an analyst; everyone else, including nobody, is a viewer.

    Examples
    --------
    >>> role_for(None, {})
    'analyst'
    >>> role_for("A@Council.gov.uk", {"auth": {"x": 1}, "roles": {"analysts": ["a@council.gov.uk"]}})
    'analyst'
    """
    if not auth_configured(secrets):
        return "analyst"
    if not user_email or not str(user_email).strip():
        return "viewer"
    return "analyst" if str(user_email).strip().lower() in analyst_emails(secrets) else "viewer"


def local_writes_allowed(server_address: str | None) -> bool:
    """In local mode, writing is allowed unless the server was told to listen beyond this computer.

    ``None``/empty is Streamlit's default; we ask for ``server.address = "localhost"`` in
    ``.streamlit/config.toml`` so that the default really is this computer only.
    """
    if not server_address:
        return True
    return server_address.strip().strip("[]").lower() in LOOPBACK


# --- Streamlit side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """The person using this session."""

    email: str | None
    role: Role
    local: bool

    @property
    def actor(self) -> str:
        """What the ingest log records as "who"."""
        return self.email or LOCAL_ACTOR

    @property
    def is_analyst(self) -> bool:
        return self.role == "analyst"


def _secrets() -> Mapping[str, Any]:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml: local mode
        return {}


def current_visitor() -> Visitor:
    """Work out who is here. With ``[auth]`` and nobody signed in, offer a sign-in and stop."""
    secrets = _secrets()
    if not auth_configured(secrets):
        return Visitor(email=None, role="analyst", local=True)
    user = st.user.to_dict()
    if not user.get("is_logged_in", False):
        st.info("Please sign in with your council account to see this page.")
        if st.button("Sign in", type="primary", key="auth_sign_in"):
            try:
                st.login()
            except Exception as exc:  # e.g. Authlib missing or [auth] incomplete
                st.error(f"Sign-in is not set up correctly on this server: {exc}")
        st.stop()
    email = user.get("email")
    return Visitor(email=email, role=role_for(email, secrets), local=False)


def writer(action: str = "load data") -> Visitor | None:
    """The visitor if they may write on this page, else ``None`` (after a plain message).

    In local mode, says so on the page, and refuses when the server listens beyond this computer.
    """
    visitor = current_visitor()
    if visitor.local:
        if not local_writes_allowed(st.get_option("server.address")):
            st.error(
                "This app has no sign-in set up but is reachable from other computers, so "
                f"nobody can {action} here. Ask IT to configure sign-in ([auth] in secrets.toml)."
            )
            return None
        st.info(LOCAL_MODE_NOTICE, icon=":material/lock_open:")
        return visitor
    if not visitor.is_analyst:
        st.warning(
            f"Only analysts can {action}. You are signed in as {md(visitor.email)} (viewer). "
            "Ask the data team if you need analyst access."
        )
        return None
    return visitor


def require_analyst(action: str = "load data") -> Visitor:
    """Top of every page that only writes: stop with a plain message unless this visitor may."""
    visitor = writer(action)
    if visitor is None:
        st.stop()
    return visitor


def sign_out_button() -> None:
    """A small sign-out control in the sidebar when OIDC is on."""
    if auth_configured(_secrets()) and st.user.to_dict().get("is_logged_in", False):
        if st.sidebar.button("Sign out", key="auth_sign_out"):
            st.logout()
