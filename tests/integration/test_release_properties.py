"""Property: over any sequence of grants, revocations and expiries, a share is allowed at t
exactly when some release for that recipient, purpose and content was granted at or before
t, expires after t, and was not revoked at or before t (S7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from outreach.models import ContactPerson, ContactRelease
from outreach.security.vault import Vault
from outreach.services.contact_persons import releases
from outreach.services.errors import Conflict
from outreach.services.records.audit import Actor
from tests.conftest import NOW
from tests.factories import World, make_contact

KINDS = ("court", "probation")
SCOPES = (("contact_made",), ("contact_made", "statement"))
# Times on a ten-minute grid, so checks often fall exactly on a grant, expiry or revocation.
minutes = st.integers(min_value=0, max_value=60).map(lambda n: timedelta(minutes=10 * n))


@dataclass
class Planned:
    kind: str
    scope: tuple[str, ...]
    granted: timedelta
    lasts: timedelta
    revoke_after: timedelta | None
    revoked_at: datetime | None = None


planned = st.builds(
    Planned,
    kind=st.sampled_from(KINDS),
    scope=st.sampled_from(SCOPES),
    granted=minutes,
    lasts=minutes.filter(bool),
    revoke_after=st.none() | minutes,
)
asks = st.tuples(st.sampled_from(KINDS), st.sampled_from(SCOPES), minutes)


def _play(
    db: Session, vault: Vault, actor: Actor, contact: ContactPerson, plan: list[Planned]
) -> None:
    """Grant and revoke in the order the events happen, each at its own instant."""
    events = [(p.granted, 0, p) for p in plan] + [
        (p.granted + p.revoke_after, 1, p) for p in plan if p.revoke_after is not None
    ]
    rows: dict[int, ContactRelease] = {}
    for offset, step, p in sorted(events, key=lambda e: (e[0], e[1])):
        at = NOW + offset
        if step == 0:
            rows[id(p)] = releases.grant_release(
                db,
                vault,
                actor=actor,
                contact_id=contact.id,
                terms=releases.ReleaseTerms(
                    p.kind,
                    "Recipient",
                    "progress_report",
                    p.scope,
                    "signed_form",
                    at + p.lasts,
                    "Words" if "statement" in p.scope else "",
                ),
                now=at,
            )
            continue
        try:
            releases.revoke_release(
                db,
                actor=actor,
                contact_id=contact.id,
                release_id=rows[id(p)].id,
                how="oral",
                now=at,
            )
        except Conflict:  # already expired: nothing to revoke
            assert at >= NOW + p.granted + p.lasts
        else:
            p.revoked_at = at


def _oracle(plan: list[Planned], kind: str, items: tuple[str, ...], t: datetime) -> bool:
    return any(
        p.kind == kind
        and set(items) <= set(p.scope)
        and NOW + p.granted <= t < NOW + p.granted + p.lasts
        and (p.revoked_at is None or t < p.revoked_at)
        for p in plan
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=st.lists(planned, min_size=0, max_size=4), checks=st.lists(asks, min_size=1))
def test_a_share_is_allowed_exactly_while_a_covering_release_is_live(
    db: Session,
    vault: Vault,
    world: World,
    plan: list[Planned],
    checks: list[tuple[str, tuple[str, ...], timedelta]],
) -> None:
    contact = make_contact(db, vault, world.participant, now=NOW)
    actor = world.actor("supervisor")
    _play(db, vault, actor, contact, plan)
    for kind, items, offset in checks:
        t = NOW + offset
        try:
            releases.require_release(
                db,
                actor=actor,
                contact_id=contact.id,
                recipient_kind=kind,
                purpose="progress_report",
                items=items,
                now=t,
            )
            allowed = True
        except releases.NoLiveRelease:
            allowed = False
        assert allowed == _oracle(plan, kind, items, t), (kind, items, offset)
