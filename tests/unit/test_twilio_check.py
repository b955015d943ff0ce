"""`outreach twilio-check` against the real SDK, with Twilio's answers canned (issue 24)."""

from __future__ import annotations

from typing import Any

import pytest

from outreach.channels.twilio import make_client
from outreach.channels.twilio_account import check_account, expected_urls, place_test_call
from outreach.settings import Settings, load_settings
from tests.fakes import RecordingHttpClient

ACCOUNT = "AC" + "1" * 32
SERVICE = "MG" + "ab" * 16
NEUTRAL = "+15550100100"


@pytest.fixture
def live(test_environ: dict[str, str]) -> Settings:
    return load_settings(
        {
            **test_environ,
            "OUTREACH_PUBLIC_URL": "https://outreach.example.org",
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": "t" * 32,
            "OUTREACH_MESSAGING_SERVICE_SID": SERVICE,
        }
    )


def _answers(settings: Settings, **changes: Any) -> list[tuple[int, dict[str, Any]]]:
    urls = expected_urls(settings)
    number = {
        "sid": "PN" + "2" * 32,
        "phone_number": NEUTRAL,
        "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
        "voice_url": urls["voice_url"],
        "voice_fallback_url": urls["voice_fallback_url"],
        **changes.get("number", {}),
    }
    service = {
        "sid": SERVICE,
        "friendly_name": "Reminders",
        "inbound_request_url": urls["inbound_request_url"],
        "fallback_url": urls["fallback_url"],
        "use_inbound_webhook_on_number": False,
        **changes.get("service", {}),
    }
    senders = changes.get("senders", [NEUTRAL])
    return [
        (200, {"sid": ACCOUNT, "status": changes.get("status", "active")}),
        (200, {"incoming_phone_numbers": [number], **_page("incoming_phone_numbers")}),
        (200, service),
        (200, {"phone_numbers": [{"phone_number": n} for n in senders], **_page("phone_numbers")}),
    ]


def _page(key: str) -> dict[str, Any]:
    return {"meta": {"page": 0, "page_size": 50, "key": key}}


def _run(settings: Settings, answers: list[tuple[int, dict[str, Any]]]) -> dict[str, bool]:
    http = RecordingHttpClient(answers)
    found = check_account(make_client(ACCOUNT, "t" * 32, http_client=http), settings)
    assert all(request.method == "GET" for request in http.requests)  # it changes nothing
    return {check.name: check.ok for check in found}


def test_an_account_set_up_as_documented_passes_every_check(live: Settings) -> None:
    results = _run(live, _answers(live))
    assert results
    assert all(results.values()), results
    assert set(results) >= {"credentials", "neutral number", "service sender", "service inbound"}


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"status": "suspended"}, "credentials"),
        ({"number": {"capabilities": {"voice": True, "sms": False}}}, "calls and texts"),
        ({"number": {"voice_url": "https://old.example.org/voice"}}, "number voice_url"),
        ({"number": {"voice_fallback_url": None}}, "number voice_fallback_url"),
        ({"service": {"use_inbound_webhook_on_number": True}}, "service inbound"),
        ({"service": {"fallback_url": None}}, "service fallback_url"),
        ({"senders": [NEUTRAL, "+15550100199"]}, "service sender"),
    ],
)
def test_each_way_an_account_can_be_wrong_is_named(
    live: Settings, changes: dict[str, Any], failing: str
) -> None:
    results = _run(live, _answers(live, **changes))
    assert results[failing] is False
    assert sum(not ok for ok in results.values()) == 1


def test_a_number_not_on_the_account_fails_and_says_which(live: Settings) -> None:
    answers = _answers(live)
    answers[1] = (200, {"incoming_phone_numbers": [], **_page("incoming_phone_numbers")})
    http = RecordingHttpClient(answers)
    found = check_account(make_client(ACCOUNT, "t" * 32, http_client=http), live)
    [number] = [c for c in found if c.name == "neutral number"]
    assert not number.ok
    assert NEUTRAL in number.detail


def test_refused_credentials_stop_the_checks_with_twilios_answer(live: Settings) -> None:
    http = RecordingHttpClient([(401, {"code": 20003, "message": "Authenticate", "status": 401})])
    found = check_account(make_client(ACCOUNT, "t" * 32, http_client=http), live)
    assert [c.line() for c in found] == ["FAIL  twilio: Twilio answered 401 (code 20003)"]
    assert "t" * 32 not in found[0].line()


# --- --call-me: one test call to a phone the operator holds --------------------------------


def test_the_test_call_goes_from_the_neutral_number_and_reports_each_status(
    live: Settings,
) -> None:
    call = {"sid": "CA" + "9" * 32, "status": "queued"}
    statuses = ["queued", "ringing", "ringing", "in-progress", "completed"]
    answers = [(201, call)] + [(200, {**call, "status": s}) for s in statuses]
    http = RecordingHttpClient(answers)
    client = make_client(ACCOUNT, "t" * 32, http_client=http)
    steps = list(
        place_test_call(
            client, live, "+14045550111", "Hello. To take this call, press 1.", wait=lambda _: None
        )
    )
    assert steps == [
        ("sid", "CA" + "9" * 32),
        ("status", "queued"),
        ("status", "ringing"),
        ("status", "in-progress"),
        ("status", "completed"),
    ]
    placed = http.requests[0].data
    assert placed["From"] == NEUTRAL  # S9
    assert placed["To"] == "+14045550111"
    assert placed["Record"] == "false"
    assert "/webhooks/twilio/voice/preflight" in placed["Twiml"]
    assert "press 1" in placed["Twiml"]
