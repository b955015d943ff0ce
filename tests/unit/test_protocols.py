"""The protocol engine: every shipped profile played through its events, and bad profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outreach.domain.protocols.engine import cadence_due, tasks_for_event
from outreach.domain.protocols.loading import ProfileError, load_profile, load_profiles
from outreach.domain.protocols.profile import PRIORITY_DUTY_TO_WARN, Permissions, Profile, TaskSpec
from outreach.domain.vocabulary import (
    DATED_EVENTS,
    Channel,
    Consent,
    EventType,
    Severity,
    TaskReason,
)

PROFILES_DIR = Path(__file__).resolve().parents[2] / "config" / "protocols"
PROFILES = load_profiles(PROFILES_DIR)
AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
CONSENTED = Permissions(Consent.CONSENTED, sms=True, mail=True)
NOT_ASKED = Permissions(Consent.NOT_ASKED)
DECLINED = Permissions(Consent.DECLINED, sms=True, mail=True)
SHIPPED = [
    "georgia_fvip",
    "colorado_dvomb",
    "emerge",
    "caring_dads",
    "pcadv",
    "no_contact",
    "ny_opdv",
]


def tasks(
    profile: str,
    event: EventType,
    permissions: Permissions = CONSENTED,
    severity: Severity = Severity.ROUTINE,
    **flags: bool,
) -> list[TaskSpec]:
    # An event about a day to come carries it (DATED_EVENTS): a month ahead here.
    day = AT + timedelta(days=30) if event in DATED_EVENTS else None
    return tasks_for_event(
        PROFILES[profile], event, at=AT, severity=severity, permissions=permissions,
        day_begins=day, **flags,
    )  # fmt: skip


def reasons(specs: list[TaskSpec]) -> list[TaskReason]:
    return [spec.reason for spec in specs]


def test_every_profile_the_product_names_is_shipped_and_loads() -> None:
    assert sorted(PROFILES) == sorted(SHIPPED)
    assert all(p.retention_years >= 1 for p in PROFILES.values())


# --- Georgia FVIP


@pytest.mark.parametrize(
    ("event", "reason", "due"),
    [
        (EventType.ENROLLED, TaskReason.INTAKE, timedelta(days=5)),
        (EventType.COMPLETED, TaskReason.COMPLETED, timedelta(days=7)),
        (EventType.TERMINATED, TaskReason.TERMINATED, timedelta(days=2)),
        (EventType.LEAVE_OF_ABSENCE, TaskReason.LEAVE_OF_ABSENCE, timedelta(days=2)),
        (EventType.CLASS_CANCELLED, TaskReason.CLASS_CANCELLED, timedelta(hours=24)),
        # Due three days before the report's date, a month ahead in tasks() (Caminar Latino).
        (EventType.PROGRESS_REPORT_DUE, TaskReason.PROGRESS_REPORT_CHECK_IN, timedelta(days=27)),
    ],
)
def test_georgia_requires_contact_on_each_standard_event(
    event: EventType, reason: TaskReason, due: timedelta
) -> None:
    [spec] = tasks("georgia_fvip", event)
    assert (spec.reason, spec.due_by, spec.script) == (reason, AT + due, reason.value)
    assert spec.min_attempts == 2


def test_georgia_asks_more_attempts_for_more_severe_cases() -> None:
    attempts = [
        tasks("georgia_fvip", EventType.ENROLLED, severity=s)[0].min_attempts for s in Severity
    ]
    assert attempts == [2, 3, 4]


def test_georgia_keeps_records_three_years() -> None:
    assert PROFILES["georgia_fvip"].retention_years == 3


def test_a_progress_report_check_in_is_only_for_a_contact_who_consented() -> None:
    assert tasks("georgia_fvip", EventType.PROGRESS_REPORT_DUE, NOT_ASKED) == []


def test_georgia_has_no_rule_for_events_its_standard_does_not_name() -> None:
    assert tasks("georgia_fvip", EventType.LEVEL_CHANGE) == []


# --- Colorado DVOMB


@pytest.mark.parametrize(
    "event",
    [
        EventType.ENROLLED,
        EventType.LEVEL_CHANGE,
        EventType.SAFETY_CONCERN,
        EventType.COMPLETED,
        EventType.TERMINATED,
    ],
)
def test_colorado_consults_the_advocate_at_each_treatment_point(event: EventType) -> None:
    assert len(tasks("colorado_dvomb", event)) == 1


@pytest.mark.parametrize(("choice", "days"), [("monthly", 30), ("quarterly", 91)])
def test_colorado_calls_as_often_as_the_contact_chose(choice: str, days: int) -> None:
    profile = PROFILES["colorado_dvomb"]
    last = AT - timedelta(days=days)
    due = cadence_due(
        profile, permissions=CONSENTED, cadence_choice=choice, last_contact_at=last, now=AT
    )
    assert due is not None
    assert due.reason is TaskReason.PERIODIC_CHECK_IN
    assert due.opens_at == AT
    not_yet = cadence_due(
        profile,
        permissions=CONSENTED,
        cadence_choice=choice,
        last_contact_at=last + timedelta(days=1),
        now=AT,
    )
    assert not_yet is None


def test_colorado_makes_no_periodic_call_when_the_contact_chose_no_rhythm() -> None:
    profile = PROFILES["colorado_dvomb"]
    assert (
        cadence_due(
            profile, permissions=CONSENTED, cadence_choice=None, last_contact_at=None, now=AT
        )
        is None
    )


# --- Emerge


def test_emerge_sends_a_letter_within_ten_days_of_termination_or_completion() -> None:
    for event in (EventType.TERMINATED, EventType.COMPLETED):
        [letter] = tasks("emerge", event)
        assert letter.reason in {TaskReason.TERMINATION_LETTER, TaskReason.COMPLETION_LETTER}
        assert (letter.channels, letter.due_by) == ((Channel.MAIL,), AT + timedelta(days=10))
        assert letter.requires_mail_permission
        assert letter.min_attempts == 1


def test_emerge_calls_instead_when_the_contact_did_not_allow_mail() -> None:
    no_mail = Permissions(Consent.CONSENTED, sms=True, mail=False)
    [spec] = tasks("emerge", EventType.TERMINATED, no_mail)
    assert spec.channels == (Channel.VOICE,)
    assert spec.min_attempts == 2


def test_emerge_contacts_immediately_on_an_explicit_threat() -> None:
    [spec] = tasks("emerge", EventType.SAFETY_CONCERN)
    assert spec.immediate
    assert spec.due_by == AT


def test_emerge_checks_in_every_8_to_10_weeks_if_the_contact_wants() -> None:
    profile = PROFILES["emerge"]
    last = AT - timedelta(weeks=8)
    due = cadence_due(
        profile,
        permissions=CONSENTED,
        cadence_choice="every_8_to_10_weeks",
        last_contact_at=last,
        now=AT,
    )
    assert due is not None
    assert due.due_by == last + timedelta(weeks=10)
    unwanted = cadence_due(
        profile, permissions=CONSENTED, cadence_choice=None, last_contact_at=last, now=AT
    )
    assert unwanted is None


# --- Caring Dads


def test_caring_dads_calls_a_consenting_mother_weekly_by_default() -> None:
    profile = PROFILES["caring_dads"]
    last = AT - timedelta(days=7)
    due = cadence_due(
        profile, permissions=CONSENTED, cadence_choice=None, last_contact_at=last, now=AT
    )
    assert due is not None
    assert due.channels == (Channel.VOICE,)


def test_caring_dads_makes_no_weekly_call_to_a_mother_who_did_not_consent_or_opted_out() -> None:
    profile = PROFILES["caring_dads"]
    last = AT - timedelta(days=30)
    for permissions, choice in ((NOT_ASKED, None), (DECLINED, None), (CONSENTED, "none")):
        due = cadence_due(
            profile, permissions=permissions, cadence_choice=choice, last_contact_at=last, now=AT
        )
        assert due is None


def test_an_unknown_cadence_choice_is_refused_with_the_choices_offered() -> None:
    with pytest.raises(ValueError, match="weekly"):
        cadence_due(
            PROFILES["caring_dads"],
            permissions=CONSENTED,
            cadence_choice="hourly",
            last_contact_at=None,
            now=AT,
        )


# --- PCADV, no-contact, NY OPDV


@pytest.mark.parametrize(
    "event",
    [
        EventType.ENROLLED,
        EventType.REJECTED,
        EventType.ACCEPTED,
        EventType.LEAVE_OF_ABSENCE,
        EventType.TERMINATED,
        EventType.COMPLETED,
    ],
)
def test_pcadv_advises_the_partner_of_each_status_change(event: EventType) -> None:
    assert len(tasks("pcadv", event)) == 1


@pytest.mark.parametrize("event", [e for e in EventType if e is not EventType.DUTY_TO_WARN])
def test_the_no_contact_profile_creates_nothing_but_a_duty_to_warn(
    event: EventType,
) -> None:
    # PRODUCT.md protocol table (amended): "not even the S11 resources call".
    assert reasons(tasks("no_contact", event)) == []


def test_the_no_contact_profile_still_warns() -> None:
    assert reasons(tasks("no_contact", EventType.DUTY_TO_WARN)) == [TaskReason.DUTY_TO_WARN]


def test_ny_opdv_never_calls_to_measure_progress() -> None:
    profile = PROFILES["ny_opdv"]
    assert tasks("ny_opdv", EventType.PROGRESS_REPORT_DUE) == []
    assert profile.cadence is None


# --- invariants, whatever the profile says


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("event", list(EventType))
def test_a_declined_contact_gets_no_task_but_a_duty_to_warn_held_for_a_supervisor(
    name: str, event: EventType
) -> None:
    # S1/S8 (amended, issue 19): the duty to warn exists at once, marked as one that reaches
    # a declined contact (consent_override); the service holds it until a supervisor confirms.
    specs = tasks(name, event, DECLINED)
    if event is EventType.DUTY_TO_WARN:
        [spec] = specs
        assert spec.consent_override
        assert spec.channels == (Channel.VOICE,)
    else:
        assert specs == []


@pytest.mark.parametrize("name", SHIPPED)
def test_duty_to_warn_is_immediate_top_priority_on_every_channel_that_can_warn(
    name: str,
) -> None:
    [spec] = tasks(name, EventType.DUTY_TO_WARN)
    assert spec.immediate
    assert spec.due_by == AT
    assert spec.priority == PRIORITY_DUTY_TO_WARN
    assert spec.channels == (Channel.VOICE, Channel.SMS)
    assert spec.notify_supervisor
    assert not spec.consent_override
    assert spec.min_attempts >= PROFILES[name].attempts[Severity.HIGH]


def test_duty_to_warn_to_a_contact_not_yet_asked_is_a_call_only() -> None:
    [spec] = tasks("georgia_fvip", EventType.DUTY_TO_WARN, NOT_ASKED)
    assert spec.channels == (Channel.VOICE,)


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "no_contact"])
def test_when_the_participant_may_be_the_victim_one_resources_only_call_is_made(
    name: str,
) -> None:
    [spec] = tasks(name, EventType.PARTICIPANT_MAY_BE_VICTIM)
    assert (spec.reason, spec.channels, spec.min_attempts) == (
        TaskReason.RESOURCES_ONLY,
        (Channel.VOICE,),
        1,
    )
    flagged = {"participant_may_be_victim": True}
    assert tasks(name, EventType.PARTICIPANT_MAY_BE_VICTIM, **flagged) == []
    assert tasks(name, EventType.TERMINATED, **flagged) == []
    assert reasons(tasks(name, EventType.DUTY_TO_WARN, **flagged)) == [TaskReason.DUTY_TO_WARN]


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("event", list(EventType))
def test_a_contact_not_yet_asked_is_only_ever_called(name: str, event: EventType) -> None:
    for spec in tasks(name, event, NOT_ASKED):
        assert spec.channels == (Channel.VOICE,)  # S1: no SMS, no letter


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("event", list(EventType))
@pytest.mark.parametrize("severity", list(Severity))
def test_every_required_call_takes_at_least_two_attempts(
    name: str, event: EventType, severity: Severity
) -> None:
    for spec in tasks(name, event, severity=severity):
        if spec.reason is not TaskReason.RESOURCES_ONLY and Channel.VOICE in spec.channels:
            assert spec.min_attempts >= 2  # S5


def test_a_contact_who_refused_calls_is_warned_by_sms_only() -> None:
    no_calls = Permissions(Consent.CONSENTED, voice=False, sms=True)
    [spec] = tasks("pcadv", EventType.DUTY_TO_WARN, no_calls)
    assert spec.channels == (Channel.SMS,)
    assert tasks("pcadv", EventType.ENROLLED, no_calls) == []


def test_sms_is_used_only_where_the_contact_allowed_it() -> None:
    voice_only = Permissions(Consent.CONSENTED, sms=False)
    [spec] = tasks("georgia_fvip", EventType.CLASS_CANCELLED, voice_only)
    assert spec.channels == (Channel.VOICE,)


def test_the_engine_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        tasks_for_event(
            PROFILES["pcadv"],
            EventType.ENROLLED,
            at=datetime(2026, 3, 2),
            severity=Severity.ROUTINE,
            permissions=CONSENTED,
        )


def test_planner_settings_come_from_the_profile() -> None:
    rules = PROFILES["georgia_fvip"].planning
    assert (rules.settle_in_minutes, rules.leave_early_minutes) == (15, 15)


# --- malformed profiles: file, line and reason


def write(tmp_path: Path, text: str, name: str = "broken.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_HEAD = 'name = "Test"\nretention_years = 3\n'


def error_for(tmp_path: Path, text: str) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        load_profile(write(tmp_path, text))
    return caught.value


def test_a_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, GOOD_HEAD + "[attempts\nroutine = 2\n")
    assert (error.file, error.line) == ("broken.toml", 3)
    assert str(error).startswith("broken.toml:3: not valid TOML")


def test_attempts_below_two_are_refused_at_their_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, GOOD_HEAD + "\n[attempts]\nroutine = 1\nhigh = 3\n")
    assert error.line == 5
    assert "at least 2 attempts" in error.reason


def test_a_rules_own_min_attempts_below_two_is_refused(tmp_path: Path) -> None:
    text = GOOD_HEAD + (
        "[[on.enrolled]]\n"
        'reason = "intake"\n'
        "due_within_days = 7\n"
        'channels = ["voice"]\n'
        "\n"
        "[[on.enrolled]]\n"
        'reason = "accepted"\n'
        "due_within_days = 7\n"
        'channels = ["voice"]\n'
        "min_attempts = { high = 1 }\n"
    )
    error = error_for(tmp_path, text)
    assert error.line == 12
    assert "S5" in error.reason


def test_an_unknown_reason_names_its_line_and_the_known_reasons(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD + '[[on.enrolled]]\nreason = "chat"\ndue_within_days = 7\nchannels = ["voice"]\n'
    )
    error = error_for(tmp_path, text)
    assert error.line == 4
    assert "'chat' is not one of" in error.reason
    assert "intake" in error.reason


def test_a_misspelt_key_is_refused_not_ignored(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD
        + '[[on.enrolled]]\nreason = "intake"\ndue_whithin_days = 7\nchannels = ["voice"]\n'
    )
    error = error_for(tmp_path, text)
    assert error.line == 5
    assert "due_whithin_days" in error.reason


def test_a_rule_without_a_deadline_is_refused_at_its_table(tmp_path: Path) -> None:
    error = error_for(
        tmp_path, GOOD_HEAD + '[[on.enrolled]]\nreason = "intake"\nchannels = ["voice"]\n'
    )
    assert error.line == 3
    assert "due_within_days" in error.reason


def test_a_letter_without_mail_permission_is_refused(tmp_path: Path) -> None:
    text = GOOD_HEAD + (
        '[[on.completed]]\nreason = "completion_letter"\ndue_within_days = 10\n'
        'channels = ["mail"]\nrequires_mail_permission = false\n'
    )
    error = error_for(tmp_path, text)
    assert error.line == 7
    assert "S1" in error.reason


def test_a_duty_to_warn_event_cannot_be_turned_into_something_else(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD
        + '[[on.duty_to_warn]]\nreason = "intake"\nimmediate = true\nchannels = ["voice"]\n'
    )
    error = error_for(tmp_path, text)
    assert error.line == 4
    assert "duty_to_warn can only create duty_to_warn" in error.reason


def test_a_missing_required_key_names_the_file(tmp_path: Path) -> None:
    error = error_for(tmp_path, 'name = "Test"\n')
    assert error.file == "broken.toml"
    assert "retention_years is required" in error.reason


def test_an_unknown_event_is_refused(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD + '[[on.birthday]]\nreason = "intake"\nimmediate = true\nchannels = ["voice"]\n'
    )
    error = error_for(tmp_path, text)
    assert error.line == 3
    assert "'birthday' is not one of" in error.reason


def test_a_bad_channel_in_a_list_points_at_the_list(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD
        + '[[on.enrolled]]\nreason = "intake"\nimmediate = true\nchannels = ["voice", "fax"]\n'
    )
    assert error_for(tmp_path, text).line == 6


def test_a_cadence_default_must_be_one_of_its_choices(tmp_path: Path) -> None:
    text = GOOD_HEAD + '[cadence]\ndefault = "daily"\n\n[cadence.choices.weekly]\nevery_days = 7\n'
    error = error_for(tmp_path, text)
    assert error.line == 4
    assert "not one of the choices" in error.reason


def test_bad_planner_hours_are_refused(tmp_path: Path) -> None:
    text = GOOD_HEAD + '[planner]\ncalling_start = "22:00"\ncalling_end = "08:00"\n'
    error = error_for(tmp_path, text)
    assert error.line == 3
    assert "calling hours" in error.reason


def test_a_minimal_profile_gets_safe_defaults(tmp_path: Path) -> None:
    profile: Profile = load_profile(write(tmp_path, GOOD_HEAD, "tiny.toml"))
    assert profile.key == "tiny"
    assert profile.language == "en"
    assert profile.partner_contact
    assert dict(profile.attempts) == {s: 2 for s in Severity}
    assert reasons(
        tasks_for_event(
            profile,
            EventType.DUTY_TO_WARN,
            at=AT,
            severity=Severity.ROUTINE,
            permissions=CONSENTED,
        )
    ) == [TaskReason.DUTY_TO_WARN]


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("event", list(EventType))
def test_no_task_uses_a_channel_she_turned_off(name: str, event: EventType) -> None:
    # S1 (issue 19): "no calls, texts are fine" means no voice task; a duty to warn that no
    # channel she allows can carry waits for a supervisor, as for a decline.
    no_calls = Permissions(Consent.CONSENTED, voice=False, sms=True, mail=True)
    for spec in tasks(name, event, no_calls):
        if spec.consent_override:
            assert spec.reason is TaskReason.DUTY_TO_WARN
        else:
            assert Channel.VOICE not in spec.channels
