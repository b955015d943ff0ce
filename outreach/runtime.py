"""What create_app builds once and every entry point shares: settings, database, keys, clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from outreach.channels.base import Channel
from outreach.clock import Clock
from outreach.domain.protocols.profile import Profile
from outreach.domain.script_library import ScriptLibrary
from outreach.security.vault import Vault
from outreach.settings import Settings

if TYPE_CHECKING:
    from outreach.services.delivery.outward import Outward


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    clock: Clock
    profiles: dict[str, Profile]
    library: ScriptLibrary
    channel: Channel | None = None

    @property
    def bind(self) -> Engine | Connection:
        """What the sessions run on: the engine, or in the tests their rolled-back connection.
        For the few statements that run without a Session (services/inbox.store)."""
        bound: Engine | Connection = self.sessions.kw["bind"]
        return bound

    def outward(self) -> Outward:
        from outreach.services.delivery.outward import Outward

        assert self.channel is not None, "create_app builds the channel"
        return Outward(self.channel, self.vault, self.library, self.settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session


def runtime(app: Flask | None = None) -> Runtime:
    found: Runtime = (app or current_app).extensions["outreach"]
    return found
