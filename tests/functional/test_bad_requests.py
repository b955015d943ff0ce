"""Malformed, oversized and non-UTF-8 requests get a generic 4xx, never a 500 or an echo.

Three doors are knocked on: a page (the sign-in form), the API (creating a group with a real
token) and a webhook (an inbound SMS with a valid Twilio signature). Every value sent carries
MARKER, and no answer may repeat it.
"""

from __future__ import annotations

import io
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from outreach.channels.base import Callbacks
from outreach.runtime import runtime
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from outreach.web.input_guard import MAX_QUERY_BYTES
from tests.conftest import NOW
from tests.factories import World, make_safe_check_delivery, report_event
from tests.functional.web import csrf

MARKER = "Zebra4045550123"
PAGE, API, WEBHOOK = "/login", "/api/v1/groups", "/webhooks/twilio/sms/inbound"
DOORS = [PAGE, API, WEBHOOK]
LIMIT = 1024 * 1024
WEBHOOK_ROUTES = [
    "sms/status",
    "sms/inbound",
    "voice/bridge",
    "voice/bridge/confirm",
    "voice/screen",
    "voice/screen/answer",
    "voice/dial-done",
    "voice/status",
    "voice/safe-check",
    "voice/safe-check/screened",
    "voice/safe-check/answer",
    "voice/liaison-screen",
    "voice/liaison-screen/answer",
    "voice/amd",
    "voice/fallback",
    "voice/incoming",
    "voice/preflight",
    "sms/fallback",
    "sms/reply-status",
]
TWILIO_FIELDS = [
    "CallSid",
    "CallStatus",
    "AnsweredBy",
    "Digits",
    "DialCallStatus",
    "MessageSid",
    "MessageStatus",
    "ErrorCode",
    "From",
    "To",
    "Body",
]


@pytest.fixture
def token(db: Session, world: World) -> str:
    return tokens.issue_token(
        db, username=world.users["admin"].username, days=90, now=NOW, actor=SYSTEM
    ).token


@pytest.fixture
def contact_token(db: Session, world: World) -> str:
    """A supervisor's: an admin's token reaches no contact data (PRODUCT.md, roles)."""
    username = world.users["supervisor"].username
    return tokens.issue_token(db, username=username, days=90, now=NOW, actor=SYSTEM).token


def _signature(app: Flask, path_and_query: str, fields: dict[str, str]) -> str:
    settings_ = runtime(app).settings
    url = settings_.public_url + path_and_query
    return str(RequestValidator(settings_.webhook_token).compute_signature(url, fields))


def send(
    app: Flask,
    client: FlaskClient,
    door: str,
    *,
    token: str = "",
    query: str = "",
    fields: dict[str, str] | None = None,
    **options: Any,
) -> TestResponse:
    """Call a door as its own client would: a page with its CSRF token (or a GET when there
    is no form), the API with a token, a webhook with a valid signature."""
    path = f"{door}?{query}" if query else door
    headers = dict(options.pop("headers", {}))
    if door == API:
        headers["Authorization"] = f"Bearer {token}"
    if door == WEBHOOK:
        headers["X-Twilio-Signature"] = _signature(app, path, fields or {})
    if door == PAGE and fields is None:
        return client.get(path, headers=headers, **options)
    if door == PAGE:
        fields = {**(fields or {}), "csrf_token": csrf(client)}
    if fields is not None:
        options["data"] = fields
    return client.post(path, headers=headers, **options)


def assert_generic_refusal(response: TestResponse, status: int) -> None:
    assert response.status_code == status
    assert MARKER not in response.get_data(as_text=True)
    assert MARKER.encode() not in response.get_data()


# --- size -------------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_a_body_over_the_size_limit_is_refused_with_413(
    app: Flask, client: FlaskClient, token: str, door: str
) -> None:
    fields = {"Body": MARKER * (LIMIT // len(MARKER) + 1)}
    assert_generic_refusal(send(app, client, door, token=token, fields=fields), 413)


@pytest.mark.parametrize("door", [PAGE, WEBHOOK])
def test_a_form_over_the_form_memory_limit_is_refused_with_413(
    app: Flask, client: FlaskClient, door: str
) -> None:
    fields = {"Body": MARKER * (300 * 1024 // len(MARKER))}
    assert_generic_refusal(send(app, client, door, fields=fields), 413)


def test_a_json_body_over_the_size_limit_is_refused_with_413(
    client: FlaskClient, token: str
) -> None:
    body = {"name": MARKER * (LIMIT // len(MARKER) + 1)}
    response = client.post(API, json=body, headers={"Authorization": f"Bearer {token}"})
    assert_generic_refusal(response, 413)
    assert response.get_json()["error"]


@pytest.mark.parametrize("door", [PAGE, API])
def test_a_body_without_a_length_is_still_cut_at_the_limit(
    client: FlaskClient, token: str, door: str
) -> None:
    stream = io.BytesIO(b"Body=" + MARKER.encode() * (LIMIT // len(MARKER) + 1))
    response = client.post(
        door,
        input_stream=stream,
        content_type="application/json" if door == API else "application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {token}", "Transfer-Encoding": "chunked"},
        # What gunicorn says of a chunked body: read it to its end, there is no length.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_generic_refusal(response, 413)


@pytest.mark.parametrize("door", DOORS)
def test_an_absurdly_long_query_string_is_refused_with_414(
    app: Flask, client: FlaskClient, token: str, door: str
) -> None:
    query = "q=" + MARKER * (MAX_QUERY_BYTES // len(MARKER) + 1)
    assert_generic_refusal(send(app, client, door, token=token, query=query), 414)


# --- encoding and NUL -------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("query", ["q=%FF%FE", "%C3%28=1", "q=%ED%A0%80", "q=" + MARKER + "%C0%AF"])
def test_a_query_that_is_not_utf8_is_refused_with_400(
    app: Flask, client: FlaskClient, token: str, door: str, query: str
) -> None:
    assert_generic_refusal(send(app, client, door, token=token, query=query), 400)


@pytest.mark.parametrize("door", [PAGE, WEBHOOK])
def test_a_form_that_is_not_utf8_is_refused_with_400(
    app: Flask, client: FlaskClient, door: str
) -> None:
    raw = f"From=%2B14045550123&Body={MARKER}%FF%FE&username={MARKER}%FF".encode()
    # Signed as Werkzeug would read it, so only the encoding is wrong.
    fields = {
        "From": "+14045550123",
        "Body": MARKER + "\ufffd\ufffd",
        "username": MARKER + "\ufffd",
    }
    if door == PAGE:
        raw += b"&csrf_token=" + csrf(client).encode()
    response = client.post(
        door,
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": _signature(app, door, fields)},
    )
    assert_generic_refusal(response, 400)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    "where",
    [
        {"query": f"q={MARKER}%00"},
        {"query": f"q%00={MARKER}"},
        {"fields": {"username": MARKER + "\0", "Body": MARKER + "\0"}},
        {"fields": {"user\0name": MARKER, "Bo\0dy": MARKER}},
    ],
)
def test_a_nul_character_is_refused_with_400(
    app: Flask, client: FlaskClient, token: str, door: str, where: dict[str, Any]
) -> None:
    assert_generic_refusal(send(app, client, door, token=token, **where), 400)


@pytest.mark.parametrize("door", DOORS)
def test_a_nul_in_a_multipart_form_is_refused_with_400(
    app: Flask, client: FlaskClient, token: str, door: str
) -> None:
    fields = {"username": MARKER + "\0", "Body": MARKER + "\0"}
    sent = send(app, client, door, token=token, fields=fields, content_type="multipart/form-data")
    assert_generic_refusal(sent, 400)


@pytest.mark.parametrize("path", ["/tasks/%00", "/api/v1/tasks/%00/close", "/login%00"])
def test_a_nul_in_the_path_is_refused_with_400(client: FlaskClient, token: str, path: str) -> None:
    response = client.post(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["name", "program", "rrule", "timezone"])
def test_a_nul_inside_json_text_is_a_422_naming_the_field(
    client: FlaskClient, world: World, token: str, field: str
) -> None:
    body = {
        "program": world.home.key,
        "name": "Thursday",
        "timezone": "America/New_York",
        "rrule": "FREQ=WEEKLY;BYDAY=TH",
        "start_time": "19:00",
        "duration_minutes": 90,
        "starts_on": "2026-09-03",
    }
    body[field] = MARKER + "\0"
    response = client.post(API, json=body, headers={"Authorization": f"Bearer {token}"})
    assert_generic_refusal(response, 422)
    assert field in response.get_json()["fields"]


# --- JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "' + MARKER.encode(),
        b'{"name": "' + MARKER.encode() + b'\xff\xfe"}',
        b"\xef\xbb\xbf\xff{}",
        b'{"name": "' + MARKER.encode() + b'",}',
        b"",
        MARKER.encode(),
    ],
)
def test_malformed_json_or_json_that_is_not_utf8_is_refused_with_400(
    client: FlaskClient, token: str, raw: bytes
) -> None:
    response = client.post(
        API,
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_generic_refusal(response, 400)
    assert set(response.get_json()) == {"error", "fields"}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
)
def test_a_body_that_is_not_json_is_refused_with_415(
    client: FlaskClient, token: str, content_type: str | None
) -> None:
    response = client.post(
        API,
        data=f'{{"name": "{MARKER}"}}',
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_generic_refusal(response, 415)
    assert response.get_json()["error"]


@pytest.mark.parametrize("raw", ["[]", "null", '"' + MARKER + '"', "17", "[{}]"])
def test_json_that_is_not_an_object_is_refused_with_422(
    client: FlaskClient, token: str, raw: str
) -> None:
    response = client.post(
        API, data=raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert_generic_refusal(response, 422)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("starts_on", "0001-01-01"),
        ("starts_on", "9999-12-31"),
        ("rrule", "FREQ=SECONDLY"),
        ("rrule", "FREQ=WEEKLY;BYHOUR=5"),
        ("rrule", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
        ("rrule", "FREQ=WEEKLY;INTERVAL=0"),
        ("duration_minutes", 10**30),
    ],
)
def test_a_group_the_planner_could_not_expand_is_refused_when_it_is_created(
    client: FlaskClient, world: World, token: str, contact_token: str, field: str, value: object
) -> None:
    body = {
        "program": world.home.key,
        "name": "Thursday",
        "timezone": "America/New_York",
        "rrule": "FREQ=WEEKLY;BYDAY=TH",
        "start_time": "19:00",
        "duration_minutes": 90,
        "starts_on": "2026-09-03",
        field: value,
    }
    response = client.post(API, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    tasks = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {contact_token}"})
    assert tasks.status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/attempts", {"channel": "voice", "at": "0001-01-01T00:00:00+05:00", "outcome": "busy"}),
        ("/attempts", {"channel": "voice", "at": "9999-12-31T23:59:00-05:00", "outcome": "busy"}),
        (
            "/attempts",
            {
                "channel": "voice",
                "at": NOW.isoformat(),
                "outcome": "reached_safe",
                "callback_at": "9999-12-31T23:59:00-05:00",
            },
        ),
    ],
)
def test_an_instant_that_overflows_in_utc_is_a_422_not_a_500(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    contact_token: str,
    path: str,
    body: Any,
) -> None:
    [task] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    response = client.post(
        f"/api/v1/tasks/{task.id}{path}",
        json=body,
        headers={"Authorization": f"Bearer {contact_token}"},
    )
    assert response.status_code == 422


@pytest.mark.parametrize("value", [[], {}, ["consented"], 1, None])
def test_a_preference_of_the_wrong_json_type_is_a_422_not_a_500(
    client: FlaskClient, world: World, contact_token: str, value: object
) -> None:
    for field in ("consent", "language"):
        response = client.patch(
            f"/api/v1/contacts/{world.contact.id}/preferences",
            json={field: value},
            headers={"Authorization": f"Bearer {contact_token}"},
        )
        assert response.status_code == 422
        assert field in response.get_json()["fields"]


# --- webhooks with a valid signature ----------------------------------------------------


@pytest.fixture
def delivery_code(db: Session, app: Flask, world: World) -> str:
    [task] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    delivery = make_safe_check_delivery(db, task, now=NOW)
    return delivery.code


# Mostly Twilio's own field names, with values from anywhere in Unicode.
twilio_forms = st.dictionaries(
    st.sampled_from(TWILIO_FIELDS) | st.text(min_size=1, max_size=12),
    st.text(max_size=80) | st.sampled_from(["+14045550123", "STOP", "1", "human", "completed"]),
    max_size=6,
)


def test_the_fuzzed_webhook_routes_are_every_webhook_route(app: Flask) -> None:
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/webhooks/")}
    assert routes == {f"/webhooks/twilio/{route}" for route in WEBHOOK_ROUTES}


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(WEBHOOK_ROUTES),
    fields=twilio_forms,
    known=st.booleans(),
    query=st.dictionaries(st.sampled_from(["leg", "x"]), st.text(max_size=20), max_size=2),
)
def test_a_signed_webhook_with_any_form_never_answers_a_server_error(
    app: Flask,
    client: FlaskClient,
    delivery_code: str,
    route: str,
    fields: dict[str, str],
    known: bool,
    query: dict[str, str],
) -> None:
    code = delivery_code if known else "unknown-" + uuid.uuid4().hex
    url = Callbacks("", code).url(route)
    path = url + "".join(f"&{quote(k)}={quote(v)}" for k, v in query.items())
    response = client.post(
        path, data=fields, headers={"X-Twilio-Signature": _signature(app, path, fields)}
    )
    nul = any("\0" in text for text in [*fields, *fields.values(), *query, *query.values()])
    assert response.status_code == (400 if nul else 200)
