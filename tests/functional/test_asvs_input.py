"""Numbers from outside are range-checked before they reach a column.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World

GROUP = {
    "name": "Thursday",
    "timezone": "America/New_York",
    "rrule": "FREQ=WEEKLY;BYDAY=TH",
    "start_time": "19:00",
    "starts_on": "2026-09-03",
    "ends_on": "2027-03-25",
}


@pytest.mark.parametrize("minutes", [-1, 0, 14, 601, 2**31, 2**63, 10**40, True])
def test_an_out_of_range_number_is_refused_before_it_is_stored(
    client: FlaskClient, db: Session, world: World, minutes: object
) -> None:
    """ASVS 1.4.2: sign and range are checked; a huge number is a 422, never an overflow."""
    token = tokens.issue_token(
        db,
        username=world.users["facilitator"].username,
        days=90,
        now=NOW,
        actor=SYSTEM,
    ).token
    response = client.post(
        "/api/v1/groups",
        json={"program": world.home.key, **GROUP, "duration_minutes": minutes},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert "duration_minutes" in response.get_json()["fields"]
