"""Every time stored in a contact's record is sorted: something that happened on it (and so
holds the record for another retention period), or a plan or bookkeeping that does not (S10).
"""

from __future__ import annotations

from sqlalchemy import Table

from outreach.models import Base
from outreach.models.base import UTCDateTime
from outreach.services.records import purge, retention


def _record_tables() -> set[Table]:
    """The tables a contact's record spans: every table whose foreign keys lead to the contact."""
    found, todo = {retention.CONTACT}, [retention.CONTACT]
    while todo:
        for child, _ in purge.children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_every_time_in_a_contact_record_is_either_activity_or_not() -> None:
    unsorted = []
    for table in _record_tables():
        times = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
        activity = set(retention.ACTIVITY.get(table.name, ()))
        other = set(retention.NOT_ACTIVITY.get(table.name, ()))
        assert not activity & other, table.name
        unsorted += [f"{table.name}.{name}" for name in sorted(times - activity - other)]
    assert unsorted == []


def test_the_record_spans_the_tables_that_hold_contact_data() -> None:
    names = {table.name for table in _record_tables()}
    assert {
        "contact_person",
        "contact_key",
        "contact_preferences",
        "outreach_task",
        "attempt",
        "delivery",
        "outbox_message",
        "inbound_message",
    } <= names
    assert not names & {"audit_event", "participant", "program", "app_user"}


def test_every_activity_table_names_its_contact() -> None:
    for name in retention.ACTIVITY:
        table = Base.metadata.tables.get(name)
        if table is not None and table not in (retention.CONTACT, retention.ATTEMPT):
            assert "contact_id" in table.c, name
