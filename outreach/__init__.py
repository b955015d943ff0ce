"""outreach: a safety-first SMS/voice outreach scheduler for victim contact.

Nothing happens at import time: `create_app()` builds the engine, keys and clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import Clock, SystemClock
from outreach.db import make_engine, make_session_factory
from outreach.domain.protocols.loading import ProfileError, load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.security.vault import Vault
from outreach.settings import Settings, load_settings
from outreach.settings_error import SettingsError


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    sessions: sessionmaker[Session] | None = None,
    clock: Clock | None = None,
) -> Flask:
    """Build the web application and everything it depends on."""
    import webhooks
    from outreach import api, cli, logs, reconnect, web
    from outreach.channels.factory import build_channel
    from outreach.domain.script_library import default_root, load_library
    from outreach.runtime import Runtime

    settings = settings or load_settings()
    logs.configure(settings.log_level)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.update(_flask_config(settings))
    app.config.update(test_config or {})
    engine = make_engine(settings.database_url)
    sessions = sessions or make_session_factory(engine, audit_key=settings.secrets.audit_key)
    watch_sessions(sessions)
    app.extensions["outreach"] = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        vault=Vault.from_secrets(settings.secrets),
        clock=clock or SystemClock(),
        profiles=_load_profiles(),
        library=load_library(default_root()),
    )
    app.extensions["outreach"].channel = build_channel(app, settings)
    web.init_app(app)
    api.init_app(app)
    webhooks.init_app(app)
    cli.register(app)
    reconnect.init_app(app)  # last: it wraps every view registered above
    return app


def watch_sessions(sessions: sessionmaker[Session]) -> None:
    """Hang the services' hooks on the sessions every entry point shares: a write that may move
    a task's call windows drops its stored plan (services/call_windows). Registered here, not in
    `outreach.db`, so the database layer imports nothing above it."""
    from outreach.services.scheduling import call_windows

    call_windows.watch(sessions)


def _load_profiles() -> dict[str, Profile]:
    """Load every protocol profile; a malformed one, or one without its referral list, stops
    start-up naming the file (and line)."""
    from outreach.services.intake import referrals
    from outreach.services.intake.programs import PROTOCOLS_DIR

    try:
        profiles = load_profiles(PROTOCOLS_DIR)
    except ProfileError as exc:
        raise SettingsError(f"protocol profile {exc}") from None
    # PRODUCT.md "Referrals are data": scripts name them, never invent them; a profile
    # without its list stops start-up naming the file it needs.
    missing = referrals.check_profiles(list(profiles))
    if missing:
        raise SettingsError(f"referral list {missing[0]}")
    return profiles


def _flask_config(settings: Settings) -> dict[str, Any]:
    secure = settings.public_url.startswith("https://")
    return {
        "SECRET_KEY": settings.secrets.secret_key,
        # __Host- needs Secure; on plain-http demo machines the browser would drop it.
        "SESSION_COOKIE_NAME": "__Host-outreach" if secure else "outreach",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # No form of ours, nor a Twilio callback, comes near this; larger ones answer 413.
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
    }
