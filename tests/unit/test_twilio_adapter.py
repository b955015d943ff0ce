"""The Twilio adapter against the real SDK, with an HTTP client that records the requests."""

from __future__ import annotations

import pytest

from outreach.channels.base import (
    BridgedCall,
    Callbacks,
    ChannelError,
    ProviderRecord,
    SafeCheckCall,
    Sms,
)
from outreach.channels.pacing import Pacer
from outreach.channels.twilio import TwilioChannel, make_client
from tests.fakes import RecordingHttpClient

LINKS = Callbacks("https://outreach.example.org", "opaque-code")
NEUTRAL = "+15550100100"


def _channel(http: RecordingHttpClient) -> TwilioChannel:
    client = make_client("AC" + "1" * 32, "token", http_client=http)
    return TwilioChannel(client, Pacer(1000, sleep=lambda _: None))


def test_a_bridged_call_rings_the_liaison_first_with_recording_off() -> None:
    http = RecordingHttpClient()
    _channel(http).place_bridged_call(BridgedCall("+14045550111", NEUTRAL, LINKS))
    [request] = http.requests
    assert request.method == "POST"
    assert request.url.endswith("/Calls.json")
    form = request.data
    assert form["To"] == "+14045550111"
    assert form["From"] == NEUTRAL  # S9: the neutral number, never the liaison's own
    assert form["Url"] == "https://outreach.example.org/webhooks/twilio/voice/bridge?c=opaque-code"
    assert form["StatusCallback"].endswith("voice/status?c=opaque-code&leg=liaison")
    assert form["Record"] == "false"
    assert "MachineDetection" not in form  # the liaison's own phone needs no detection


def test_a_safe_check_call_asks_for_synchronous_machine_detection() -> None:
    http = RecordingHttpClient()
    _channel(http).place_safe_check_call(SafeCheckCall("+14045550123", NEUTRAL, LINKS))
    form = http.requests[0].data
    assert form["To"] == "+14045550123"
    assert form["From"] == NEUTRAL
    assert form["Url"].endswith("/webhooks/twilio/voice/safe-check?c=opaque-code")
    assert form["MachineDetection"] == "Enable"
    # Asynchronous detection would let the prompt start before the verdict (S3).
    assert "AsyncAmd" not in form
    assert "AsyncAmdStatusCallback" not in form
    assert form["Record"] == "false"


def test_callback_urls_carry_only_the_opaque_code() -> None:
    http = RecordingHttpClient()
    _channel(http).place_safe_check_call(SafeCheckCall("+14045550123", NEUTRAL, LINKS))
    urls = [v for v in http.requests[0].data.values() if str(v).startswith("https://")]
    assert len(urls) == 3  # the call's TwiML, its fallback and its status callbacks
    for url in urls:
        assert "4045550123" not in url
        assert url.isascii()


def test_an_sms_goes_from_the_neutral_number_with_a_short_validity() -> None:
    http = RecordingHttpClient()
    _channel(http).send_sms(Sms("+14045550123", NEUTRAL, "Hi Avery", LINKS))
    form = http.requests[0].data
    assert http.requests[0].url.endswith("/Messages.json")
    assert (form["To"], form["From"], form["Body"]) == ("+14045550123", NEUTRAL, "Hi Avery")
    assert form["StatusCallback"].endswith("sms/status?c=opaque-code")
    assert int(form["ValidityPeriod"]) <= 3600


def test_an_opted_out_contact_is_a_permanent_refusal_that_revokes_consent() -> None:
    http = RecordingHttpClient(
        [(400, {"code": 21610, "message": "unsubscribed recipient", "status": 400})]
    )
    with pytest.raises(ChannelError) as refused:
        _channel(http).send_sms(Sms("+14045550123", NEUTRAL, "Hi", LINKS))
    assert refused.value.permanent
    assert refused.value.opted_out
    assert refused.value.code == "21610"
    assert "4045550123" not in str(refused.value)
    assert len(http.requests) == 1  # never retried


@pytest.mark.parametrize("code", [21211, 21614])
def test_an_invalid_or_non_mobile_number_is_permanent(code: int) -> None:
    http = RecordingHttpClient([(400, {"code": code, "message": "x", "status": 400})])
    with pytest.raises(ChannelError) as refused:
        _channel(http).send_sms(Sms("+14045550123", NEUTRAL, "Hi", LINKS))
    assert refused.value.permanent
    assert not refused.value.opted_out


@pytest.mark.parametrize(
    "place",
    [
        lambda c: c.place_bridged_call(BridgedCall("+14045550111", NEUTRAL, LINKS)),
        lambda c: c.place_safe_check_call(SafeCheckCall("+14045550123", NEUTRAL, LINKS)),
    ],
)
def test_every_call_names_a_fallback_that_hangs_up_instead_of_twilios_error_message(
    place: object,
) -> None:
    """Issue 24 item 7: `FallbackUrl` is asked when our TwiML cannot be fetched or run
    (twilio.com/docs/usage/security/availability-reliability)."""
    http = RecordingHttpClient()
    place(_channel(http))  # type: ignore[operator]
    form = http.requests[0].data
    assert form["FallbackUrl"] == (
        "https://outreach.example.org/webhooks/twilio/voice/fallback?c=opaque-code"
    )


def test_a_full_sender_queue_is_transient_and_tried_again() -> None:
    """21611: the queue of messages waiting to go from this sender is full; it drains."""
    http = RecordingHttpClient([(400, {"code": 21611, "message": "queue full", "status": 400})])
    with pytest.raises(ChannelError) as failed:
        _channel(http).send_sms(Sms("+14045550123", NEUTRAL, "Hi", LINKS))
    assert not failed.value.permanent
    assert not failed.value.opted_out


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_provider_outage_is_transient(status: int) -> None:
    http = RecordingHttpClient([(status, {"code": 20500, "message": "x", "status": status})])
    with pytest.raises(ChannelError) as failed:
        _channel(http).place_safe_check_call(SafeCheckCall("+14045550123", NEUTRAL, LINKS))
    assert not failed.value.permanent


# --- erasing Twilio's own records at retention's end (S10) ---------------------------------

CALL_SID, TEXT_SID = "CA" + "a1" * 16, "SM" + "b2" * 16


@pytest.mark.parametrize(
    ("sid", "resource"),
    [(CALL_SID, "Calls"), (TEXT_SID, "Messages"), ("MM" + "c3" * 16, "Messages")],
)
def test_a_record_is_erased_with_one_delete_of_that_call_or_message(
    sid: str, resource: str
) -> None:
    http = RecordingHttpClient([(204, {})])
    _channel(http).erase_record(sid)
    [request] = http.requests
    assert request.method == "DELETE"
    assert request.url.endswith(f"/Accounts/AC{'1' * 32}/{resource}/{sid}.json")


def test_a_record_twilio_no_longer_has_counts_as_erased() -> None:
    http = RecordingHttpClient([(404, {"code": 20404, "message": "not found", "status": 404})])
    _channel(http).erase_record(CALL_SID)
    assert len(http.requests) == 1


@pytest.mark.parametrize(("status", "permanent"), [(503, False), (429, False), (400, True)])
def test_a_refused_erasure_is_an_error_that_names_only_the_code(
    status: int, permanent: bool
) -> None:
    body = {"code": 20009, "message": "Cannot delete +14045550123", "status": status}
    http = RecordingHttpClient([(status, body)])
    with pytest.raises(ChannelError) as refused:
        _channel(http).erase_record(TEXT_SID)
    assert refused.value.permanent is permanent
    assert refused.value.code == "20009"
    assert "4045550123" not in str(refused.value)


def test_a_sid_of_another_kind_is_refused_without_asking_twilio() -> None:
    http = RecordingHttpClient()
    with pytest.raises(ChannelError, match="not a call or message SID") as refused:
        _channel(http).erase_record("RE" + "d4" * 16)
    assert refused.value.permanent
    assert http.requests == []


# --- reconciliation: asking Twilio for a call or text whose callbacks stopped -------------


def test_a_call_is_fetched_as_it_stands_with_its_machine_verdict() -> None:
    body = {"sid": CALL_SID, "status": "completed", "answered_by": "machine_start"}
    http = RecordingHttpClient([(200, body)])
    found = _channel(http).fetch_record(CALL_SID)
    [request] = http.requests
    assert request.method == "GET"
    assert request.url.endswith(f"/Calls/{CALL_SID}.json")
    assert found == ProviderRecord("completed", "machine_start", None)


def test_a_text_is_fetched_with_its_error_code() -> None:
    http = RecordingHttpClient(
        [(200, {"sid": TEXT_SID, "status": "undelivered", "error_code": 30003})]
    )
    found = _channel(http).fetch_record(TEXT_SID)
    assert http.requests[0].url.endswith(f"/Messages/{TEXT_SID}.json")
    assert found == ProviderRecord("undelivered", None, "30003")


def test_the_leg_a_bridged_call_dialled_is_found_by_its_parent() -> None:
    child = {"sid": "CA" + "d4" * 16, "status": "no-answer", "answered_by": None}
    page = {"calls": [child], "end": 0, "start": 0, "page": 0, "page_size": 1}
    http = RecordingHttpClient([(200, page)])
    found = _channel(http).fetch_record(CALL_SID, leg_dialled=True)
    [request] = http.requests
    assert request.url.endswith("/Calls.json")
    assert request.params["ParentCallSid"] == CALL_SID
    assert found == ProviderRecord("no-answer", None, None)


def test_a_record_twilio_does_not_have_is_none() -> None:
    http = RecordingHttpClient([(404, {"code": 20404, "message": "not found", "status": 404})])
    assert _channel(http).fetch_record(CALL_SID) is None
