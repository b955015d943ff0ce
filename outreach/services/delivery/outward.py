"""What every outward action needs besides the session: the channel, the keys, the approved
texts and the settings. Its own module, below the services that send, so any of them may take
one without importing another."""

from __future__ import annotations

from dataclasses import dataclass

from outreach.channels.base import Channel
from outreach.domain.script_library import ScriptLibrary
from outreach.security.vault import Vault
from outreach.settings import Settings


@dataclass(frozen=True)
class Outward:
    """What an outward action needs besides the session: the channel, keys, texts, settings."""

    channel: Channel
    vault: Vault
    library: ScriptLibrary
    settings: Settings

    @property
    def keeps_outbox(self) -> bool:
        return self.channel.name in ("console", "simulator")
