"""An admin acts only within the programs they administer and never reaches contact data.

PRODUCT.md, roles: an admin manages users, roles, programs and keys "within the programs they
administer", and must never "read contact-person data or claim a contact task (an admin who
also works cases holds the liaison role too); create users or tokens outside their programs".
Issue 21 finding 7: an admin of one program created a supervisor in another, minted a token for
another program's liaison, and claimed a task and read the contact's name and number.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import ApiToken, AuditEvent, OutreachTask, User
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.attempts import task_page
from outreach.services.contact_persons import contacts
from outreach.services.errors import Forbidden
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.scheduling import claims, queue
from outreach.services.staff import admin, users
from tests.conftest import NOW
from tests.factories import World, make_user, report_event

DAYS = 30


@pytest.fixture
def home_admin(db: Session, world: World) -> Actor:
    """Administers the home program only; `world.other` is another program's."""
    return Actor.of(make_user(db, Role.ADMIN, [world.home], now=NOW))


@pytest.fixture
def task(db: Session, world: World, app: Flask) -> OutreachTask:
    [opened] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    return opened


def _denials(db: Session) -> int:
    query = select(func.count()).select_from(AuditEvent)
    return db.scalar(query.where(AuditEvent.action == "auth.access_denied")) or 0


def test_an_admin_cannot_create_a_supervisor_in_another_program(
    db: Session, world: World, home_admin: Actor
) -> None:
    for program_keys in ([world.other.key], [world.home.key, world.other.key], []):
        with pytest.raises(Forbidden):
            admin.create_user(
                db,
                actor=home_admin,
                username="pat.supervisor",
                role="supervisor",
                password="a long enough passphrase",
                program_keys=program_keys,
                now=NOW,
            )
    assert db.scalar(select(User).where(User.username == "pat.supervisor")) is None
    assert _denials(db) == 3


def test_an_admin_cannot_mint_a_token_for_or_disable_another_programs_liaison(
    db: Session, world: World, home_admin: Actor
) -> None:
    outsider = world.users["outsider"]  # a liaison of the other program
    both = world.users["admin"]  # an account reaching both programs
    for target in (outsider, both):
        with pytest.raises(Forbidden):
            admin.issue_token(db, actor=home_admin, user_id=target.id, days=DAYS, now=NOW)
        with pytest.raises(Forbidden):
            admin.disable_user(db, actor=home_admin, user_id=target.id, now=NOW)
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0
    db.refresh(outsider)
    assert outsider.active
    assert _denials(db) == 4


def test_an_admin_lists_and_manages_only_their_own_programs(
    db: Session, world: World, home_admin: Actor
) -> None:
    listed = {u.username for u in admin.all_users(db, actor=home_admin, now=NOW)}
    assert world.users["liaison"].username in listed
    assert world.users["outsider"].username not in listed
    assert [p.key for p in admin.all_programs(db, actor=home_admin, now=NOW)] == [world.home.key]
    created = admin.create_user(
        db,
        actor=home_admin,
        username="dana.liaison",
        role="liaison",
        password="a long enough passphrase",
        program_keys=[world.home.key],
        now=NOW,
    )
    assert admin.issue_token(db, actor=home_admin, user_id=created.id, days=DAYS, now=NOW).token
    admin.disable_user(db, actor=home_admin, user_id=world.users["liaison"].id, now=NOW)
    assert _denials(db) == 0


@pytest.mark.parametrize("persona", ["home", "both"])
def test_an_admin_never_claims_a_task_nor_reads_a_contact(
    db: Session,
    world: World,
    vault: Vault,
    app: Flask,
    task: OutreachTask,
    home_admin: Actor,
    persona: str,
) -> None:
    actor = home_admin if persona == "home" else world.actor("admin")
    with pytest.raises(Forbidden):
        claims.claim_task(db, actor=actor, task_id=task.id, now=NOW)
    with pytest.raises(Forbidden):
        contacts.reveal_contact(
            db, vault, actor=actor, contact_id=world.contact.id, now=NOW, purpose="call"
        )
    rt = runtime(app)
    with pytest.raises(Forbidden):
        task_page.task_page(
            db,
            vault,
            rt.profiles,
            actor=actor,
            task_id=task.id,
            now=NOW,
            calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
        )
    with pytest.raises(Forbidden):
        queue.call_queue(
            db,
            rt.profiles,
            actor=actor,
            now=NOW,
            calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
        )
    db.refresh(task)
    assert task.claimed_by is None
    revealed = select(func.count()).select_from(AuditEvent)
    assert db.scalar(revealed.where(AuditEvent.action == "contact.revealed")) == 0


def test_an_admin_who_works_cases_does_so_with_a_liaison_account(
    db: Session, world: World, home_admin: Actor, task: OutreachTask
) -> None:
    """An account holds one role. The admin who also works cases is given a liaison account
    in the programs whose cases they work; it claims as any liaison does, and the admin
    account still cannot."""
    working = admin.create_user(
        db,
        actor=home_admin,
        username="morgan.cases",
        role="liaison",
        password="a long enough passphrase",
        program_keys=[world.home.key],
        now=NOW,
    )
    claimed = claims.claim_task(db, actor=Actor.of(working), task_id=task.id, now=NOW)
    assert claimed.claimed_by == working.id
    with pytest.raises(Forbidden):
        claims.claim_task(db, actor=home_admin, task_id=task.id, now=NOW)


def test_the_operator_still_creates_accounts_in_any_program(db: Session, world: World) -> None:
    """The `outreach users` command acts as the system, outside any program's admin."""
    made = users.add_user(
        db,
        username="kim.ops",
        role="admin",
        password="a long enough passphrase",
        program_keys=[world.other.key],
        now=NOW,
        actor=SYSTEM,
    )
    assert [p.key for p in made.programs] == [world.other.key]
