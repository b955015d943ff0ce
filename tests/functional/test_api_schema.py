"""The API's document states exactly what its validation accepts (issue 23 item 7).

Bodies are generated from /api/v1/openapi.json itself and read by the models the routes use:
every body the document allows is accepted, every body it refuses is refused. The patterns
for dates, instants and group rules are checked against the domain's own rules, and every
route answers a method it does not have with 405 and the Allow header (RFC 9110 15.5.6).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from schemathesis import Case
from schemathesis.generation import GenerationMode
from sqlalchemy.orm import Session

from outreach.api import fields
from outreach.api.openapi import ROUTES, document
from outreach.domain import validation
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World

MARKER = "Zebra4045550123"
SCHEMA = schemathesis.openapi.from_dict(document())
WITH_BODY = [route for route in ROUTES if route.body is not None]
FAST = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def _cases(path: str, method: str, mode: GenerationMode) -> st.SearchStrategy[Case[Any]]:
    strategy: st.SearchStrategy[Case[Any]] = SCHEMA[path][method.upper()].as_strategy(
        generation_mode=mode
    )
    return strategy


def _accepted(model: type[BaseModel], body: object) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("route", WITH_BODY, ids=lambda r: f"{r.method} {r.path}")
def test_every_body_the_document_allows_is_accepted(route: Any) -> None:
    @FAST
    @given(_cases(route.path, route.method, GenerationMode.POSITIVE))
    def check(case: Case[Any]) -> None:
        assert _accepted(route.body, case.body), case.body

    check()


@pytest.mark.parametrize("route", WITH_BODY, ids=lambda r: f"{r.method} {r.path}")
def test_every_body_the_document_refuses_is_refused(route: Any) -> None:
    @FAST
    @given(_cases(route.path, route.method, GenerationMode.NEGATIVE))
    def check(case: Case[Any]) -> None:
        meta = case.meta.components.get(schemathesis.core.parameters.ParameterLocation.BODY)
        if meta is None or meta.mode.is_positive:
            return  # the case broke the path, not the body
        assert not _accepted(route.body, case.body), case.body

    check()


# --- the patterns say what the domain's rules say ----------------------------------------

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


@given(day=days)
def test_a_date_matches_the_pattern_exactly_when_its_year_is_plausible(day: date) -> None:
    try:
        validation.plausible_day("date", day)
        plausible = True
    except validation.InvalidInput:
        plausible = False
    assert bool(re.fullmatch(fields.DAY, day.isoformat())) is plausible


offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(
    day=days,
    clock=st.times(),
    offset=offsets,
)
def test_an_instant_the_pattern_allows_is_always_a_plausible_one(
    day: date, clock: time, offset: timezone
) -> None:
    text = datetime.combine(day, clock, tzinfo=offset).isoformat()
    if re.fullmatch(fields.INSTANT, text):
        validation.plausible_instant("at", datetime.fromisoformat(text))
    # And inside the range, away from its first and last day, every instant is allowed.
    if date(2000, 1, 2) <= day <= date(2099, 12, 30):
        assert re.fullmatch(fields.INSTANT, text)


@settings(max_examples=200, deadline=None)
@given(
    rule=st.from_regex(fields.RRULE, fullmatch=True),
    starts_on=days.filter(lambda d: 2000 <= d.year <= 2099),
)
def test_every_group_rule_the_document_states_gives_sessions_from_any_start(
    rule: str, starts_on: date
) -> None:
    assert validation.recurrence_rule("rrule", rule, starts_on) == rule


def test_every_time_zone_the_document_lists_is_one_the_services_accept() -> None:
    listed = document()["components"]["schemas"]["TimeZone"]["enum"]
    assert "America/New_York" in listed
    assert "UTC" not in listed  # the services want an area and a place
    for zone in listed:
        validation.timezone_name("timezone", zone)


# --- answers -------------------------------------------------------------------------------


@pytest.fixture
def token(db: Session, world: World) -> str:
    username = world.users["admin"].username
    return tokens.issue_token(db, username=username, days=90, now=NOW, actor=SYSTEM).token


def test_every_api_route_answers_a_method_it_lacks_with_405_and_allow(
    app: Flask, client: FlaskClient, token: str
) -> None:
    """RFC 9110 15.5.6: a 405 must list the methods the resource has (the Allow header)."""
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert len(rules) >= 13
    for rule in rules:
        path = re.sub(r"<[^>]+>", "00000000-0000-0000-0000-000000000000", rule.rule)
        lacking = next(m for m in ("PUT", "DELETE", "TRACE", "POST") if m not in rule.methods)
        answer = client.open(path, method=lacking, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 405, path
        assert {m.strip() for m in answer.headers["Allow"].split(",")} >= (
            (rule.methods or set()) - {"OPTIONS", "HEAD"}
        ), path
        assert answer.get_json()["error"]


def test_a_page_answers_a_method_it_lacks_with_405_and_allow(client: FlaskClient) -> None:
    answer = client.delete("/login")
    assert answer.status_code == 405
    assert "POST" in answer.headers["Allow"]


@pytest.mark.parametrize("route", WITH_BODY, ids=lambda r: f"{r.method} {r.path}")
def test_a_refusal_never_repeats_what_was_sent(client: FlaskClient, token: str, route: Any) -> None:
    """S10: a value, or a key, sent in a body never comes back in the answer."""
    names = list(route.body.model_fields)
    body: dict[str, Any] = {name: [MARKER] for name in names}
    body[MARKER] = MARKER
    body["preferences"] = {MARKER: MARKER, "consent": MARKER}
    path = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", route.path)
    answer = client.open(
        "/api/v1" + path,
        method=route.method.upper(),
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422
    assert MARKER not in answer.get_data(as_text=True)
    named = answer.get_json()["fields"]
    for name in set(names) - {"preferences"}:
        assert any(field.split("[")[0] == name for field in named), name


def test_a_whole_number_sent_as_90_0_is_90(client: FlaskClient, world: World, token: str) -> None:
    """JSON has one kind of number, and the document's "integer" allows 90.0."""
    body = {
        "program": world.home.key,
        "name": "Thursday",
        "timezone": "America/New_York",
        "rrule": "FREQ=WEEKLY;BYDAY=TH",
        "start_time": "19:00",
        "duration_minutes": 90.0,
        "starts_on": "2026-09-03",
    }
    answer = client.post("/api/v1/groups", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201
    body["duration_minutes"] = 90.5
    answer = client.post("/api/v1/groups", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422
    assert answer.get_json()["fields"] == {"duration_minutes": "must be a whole number"}


def test_an_instant_outside_the_years_is_refused_before_any_record_is_looked_up(
    client: FlaskClient, token: str
) -> None:
    path = "/api/v1/participants/00000000-0000-0000-0000-000000000000/events"
    headers = {"Authorization": f"Bearer {token}"}
    for at in ("1999-12-31T12:00:00Z", "2100-01-01T00:00:00Z", "2026-09-03T19:00:00"):
        answer = client.post(path, json={"type": "enrolled", "at": at}, headers=headers)
        assert (answer.status_code, list(answer.get_json()["fields"])) == (422, ["at"])
    at = datetime(2026, 9, 3, 19, tzinfo=UTC).isoformat()
    answer = client.post(path, json={"type": "enrolled", "at": at}, headers=headers)
    assert answer.status_code == 404
