"""`outreach keys rotate`: move contact keys, staff secrets and phone indexes to the newest keys,
resumably, printing counts by key id before and after (docs/security/keys.md)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import click

from outreach.cli.service_calls import current_runtime, fail
from outreach.runtime import Runtime
from outreach.services.errors import ServiceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outreach.services.records import key_rotation


@click.group("keys")
def keys_group() -> None:
    """Encryption keys."""


@keys_group.command("rotate")
@click.option(
    "--to",
    "newest",
    metavar="KEY_ID",
    help="Refuse unless this key comes first in OUTREACH_DATA_KEYS.",
)
@click.option(
    "--index-to",
    "newest_index",
    metavar="KEY_ID",
    help="Refuse unless this key comes first in OUTREACH_INDEX_KEYS.",
)
def keys_rotate(newest: str | None, newest_index: str | None) -> None:
    """Move every contact key, staff secret and phone index to the newest keys; resumable.

    First put the new key first in OUTREACH_DATA_KEYS or OUTREACH_INDEX_KEYS, keeping the
    old keys after it (a single OUTREACH_INDEX_KEY stays set beside OUTREACH_INDEX_KEYS), and
    restart the application. This then wraps contact data keys and seals staff secrets under
    the newest data key, and indexes every contact's phone again under the newest index key,
    500 contacts per transaction, each batch audited. Look-ups by phone try every index key
    meanwhile. A stopped run resumes where it stopped when run again. Counts by key id are
    printed before and after: remove an old key only once nothing is left under it.
    See docs/security/keys.md.
    """
    from outreach.services.records import key_rotation

    rt = current_runtime()
    with rt.session() as session:
        try:
            key_rotation.check_keyring(session, rt.vault.keyring, newest=newest)
            key_rotation.check_index_keys(session, rt.vault.index_keys, newest=newest_index)
        except ServiceError as exc:
            fail(exc)
        counts = key_rotation.key_counts(session)
        _print_key_counts("before", counts)
        _rotate_sealed(rt, session, counts.old(rt.vault.keyring.primary.key_id))
        _rotate_indexes(rt, session, counts.old_indexes(rt.vault.index_keys.primary.key_id))
        _print_key_counts("after", key_rotation.key_counts(session))


def _rotate_sealed(rt: Runtime, session: Session, todo: int) -> None:
    from outreach.services.records import key_rotation

    keyring = rt.vault.keyring
    with click.progressbar(length=todo, label=f"sealing under {keyring.primary.key_id}") as bar:
        for moved in key_rotation.rotate_contact_keys(session, rt.vault, now=rt.clock.now()):
            bar.update(moved)
        bar.update(key_rotation.rotate_staff_secrets(session, keyring, now=rt.clock.now()))


def _rotate_indexes(rt: Runtime, session: Session, todo: int) -> None:
    from outreach.services.records import key_rotation

    newest = key_rotation.index_key_name(rt.vault.index_keys.primary.key_id)
    with click.progressbar(length=todo, label=f"indexing under {newest}") as bar:
        for moved in key_rotation.rotate_phone_indexes(session, rt.vault, now=rt.clock.now()):
            bar.update(moved)


def _print_key_counts(when: str, counts: key_rotation.KeyCounts) -> None:
    from outreach.services.records.key_rotation import index_key_name

    for name, counter in (
        ("contact keys", counts.contact_keys),
        ("staff secrets", counts.staff_secrets),
        ("phone indexes", Counter({index_key_name(k): n for k, n in counts.phone_indexes.items()})),
    ):
        shown = ", ".join(f"{k}: {n}" for k, n in sorted(counter.items())) or "none"
        click.echo(f"{when}: {name} by key id: {shown}")
