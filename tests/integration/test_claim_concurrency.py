"""Many liaisons claiming the same tasks at once: each task is claimed exactly once.

PostgreSQL takes the row with FOR UPDATE (waiting out other writes); SQLite uses a
compare-and-set UPDATE.
The tasks live in a schema (or file) of this test's own, because the claims must really
commit for the workers to race each other; nothing of it touches the shared test schema.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Role
from outreach.models import OutreachTask
from outreach.security.crypto import IndexKeyring, Keyring
from outreach.security.vault import Vault
from outreach.services.errors import Conflict
from outreach.services.intake import events
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.scheduling import claims
from outreach.settings_secrets import DataKey
from tests.conftest import NOW
from tests.factories import make_contact, make_group, make_participant, make_program, make_user
from tests.sessions import app_sessions

WORKERS, TASKS = 12, 20


def _seed(sessions: sessionmaker[Session], vault: Vault) -> tuple[list[OutreachTask], list[Actor]]:
    with sessions() as db:
        program = make_program(db, now=NOW)
        participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
        make_contact(db, vault, participant, now=NOW, consent="consented")
        opened: list[OutreachTask] = []
        profiles = _profiles()
        while len(opened) < TASKS:
            opened += events.report_event(
                db,
                profiles,
                actor=SYSTEM,
                participant_id=participant.id,
                event_type="enrolled",
                at=NOW,
                severity="routine",
                now=NOW,
            )[1]
        liaisons = [make_user(db, Role.LIAISON, [program], now=NOW) for _ in range(WORKERS)]
        return opened, [Actor.of(user) for user in liaisons]


def _profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


def test_each_task_is_claimed_by_exactly_one_of_many_racing_liaisons(own_engine: Engine) -> None:
    vault = Vault(
        Keyring((DataKey("t1", os.urandom(32)),)), IndexKeyring((DataKey("i1", os.urandom(32)),))
    )
    sessions = app_sessions(own_engine, audit_key=os.urandom(32))
    opened, actors = _seed(sessions, vault)
    ids = [t.id for t in opened]
    wins: Counter[object] = Counter()
    lock, start = threading.Lock(), threading.Barrier(WORKERS)

    def work(actor: Actor) -> None:
        order = random.sample(ids, len(ids))
        start.wait()
        for task_id in order:
            with sessions() as db:
                try:
                    claims.claim_task(db, actor=actor, task_id=task_id, now=NOW)
                except Conflict:
                    continue
            with lock:
                wins[task_id] += 1

    threads = [threading.Thread(target=work, args=(a,)) for a in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins.values()) == [1] * TASKS
    with sessions() as db:
        holders = [db.get(OutreachTask, task_id).claimed_by for task_id in ids]  # type: ignore[union-attr]
    assert all(holder is not None for holder in holders)


def test_a_task_row_held_by_another_write_is_still_claimed_when_nobody_holds_the_claim(
    own_engine: Engine,
) -> None:
    """Issue 21 finding 16: a liaison opening a free task while some other write (a re-plan,
    a correction, the applier) holds its row for a moment gets the claim once that write
    ends, never "another liaison is working this task"."""
    vault = Vault(
        Keyring((DataKey("t1", os.urandom(32)),)), IndexKeyring((DataKey("i1", os.urandom(32)),))
    )
    sessions = app_sessions(own_engine, audit_key=os.urandom(32))
    opened, actors = _seed(sessions, vault)
    task_id, liaison = opened[0].id, actors[0]
    claimed: list[object] = []
    holding = threading.Event()

    def other_write() -> None:
        with own_engine.connect() as conn:
            # A write that is not a claim: it locks the row and keeps it for half a second.
            conn.execute(
                update(OutreachTask)
                .where(OutreachTask.id == task_id)
                .values(status=OutreachTask.status)
            )
            holding.set()
            time.sleep(0.5)
            conn.commit()

    writer = threading.Thread(target=other_write)
    writer.start()
    assert holding.wait(10)
    with sessions() as db:
        try:
            claimed.append(claims.claim_task(db, actor=liaison, task_id=task_id, now=NOW).id)
        except Conflict as refused:
            claimed.append(refused.message)
    writer.join(10)
    assert claimed == [task_id]
    with sessions() as db:
        assert db.get(OutreachTask, task_id).claimed_by == liaison.user_id  # type: ignore[union-attr]
