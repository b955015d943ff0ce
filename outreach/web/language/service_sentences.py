"""The services' sentences for the screen, in the reader's language (issue 22 item 8).

Services write their refusals and explanations in English; each is shown here in the reader's
language, with any rule code such as "(S1)" left out of what the screen shows.
"""

from __future__ import annotations

import re

from babel import Locale
from flask import has_request_context
from flask_babel import get_locale, lazy_gettext

# Sentences the services write for the screen, in English, each with its translation. The keys
# are the services' own text (tests/functional/test_staff_language.py checks each service table
# is covered); a rule code such as "(S1)" is left out of what the screen shows.
PHRASES = {
    # Signing in (services/staff/auth.py REFUSED, services/staff/second_factor.py BAD_CODE)
    "That username and password do not match an active account.": lazy_gettext(
        "That username and password do not match an active account."
    ),
    "That code is not valid. Use the newest code your authenticator app shows.": lazy_gettext(
        "That code is not valid. Use the newest code your authenticator app shows."
    ),
    # Tonight's group (services/scheduling/queue_details.py and queue.py,
    # services/attempts/task_page.py)
    "not checked in yet": lazy_gettext("not checked in yet"),
    "checked in": lazy_gettext("checked in"),
    "absent": lazy_gettext("absent"),
    "no group tonight": lazy_gettext("no group tonight"),
    "no group": lazy_gettext("no group"),
    # Where he stands in the program (services/attempts/task_page.py STATUS_WORDS)
    "enrolled": lazy_gettext("enrolled"),
    "accepted into the program": lazy_gettext("accepted into the program"),
    "not accepted into the program": lazy_gettext("not accepted into the program"),
    "finished with the program": lazy_gettext("finished with the program"),
    "discharged without finishing the program": lazy_gettext(
        "discharged without finishing the program"
    ),
    "on a leave of absence": lazy_gettext("on a leave of absence"),
    "back in the program after a leave of absence": lazy_gettext(
        "back in the program after a leave of absence"
    ),
    "at a different level of the program": lazy_gettext("at a different level of the program"),
    "not known: no enrolment or other status event is recorded": lazy_gettext(
        "not known: no enrolment or other status event is recorded"
    ),
    # Refusals the services give a liaison most often (services/scheduling/claims.py, tasks.py,
    # delivery/targets.py, web/common.py)
    "another liaison is working this task; it returns to the queue when their claim ends": (
        lazy_gettext(
            "another liaison is working this task; it returns to the queue when their claim ends"
        )
    ),
    "claim the task first; the claim may have run out": lazy_gettext(
        "claim the task first; the claim may have run out"
    ),
    "the task is closed; a correction goes on a new entry by a supervisor": lazy_gettext(
        "the task is closed; a correction goes on a new entry by a supervisor"
    ),
    "the task is already closed": lazy_gettext("the task is already closed"),
    "the task is closed": lazy_gettext("the task is closed"),
    "this task does not allow that channel": lazy_gettext("this task does not allow that channel"),
    "an attempt cannot be recorded in the future": lazy_gettext(
        "an attempt cannot be recorded in the future"
    ),
    "a callback time must come after the attempt": lazy_gettext(
        "a callback time must come after the attempt"
    ),
    "a person answered a call on this task: record how it went before closing": lazy_gettext(
        "a person answered a call on this task: record how it went before closing"
    ),
    "that call has no outcome to record": lazy_gettext("that call has no outcome to record"),
    "not sent: outside calling hours in the contact's time zone": lazy_gettext(
        "not sent: outside calling hours in the contact's time zone"
    ),
    "add your own phone number first: a bridged call rings you before the contact": lazy_gettext(
        "add your own phone number first: a bridged call rings you before the contact"
    ),
    "choose English or Spanish": lazy_gettext("choose English or Spanish"),
    "give the time as YYYY-MM-DD HH:MM": lazy_gettext("give the time as YYYY-MM-DD HH:MM"),
    # Her script could not be read (services/attempts/task_page.py)
    "The approved script could not be loaded. Do not call; ask a supervisor.": lazy_gettext(
        "The approved script could not be loaded. Do not call; ask a supervisor."
    ),
    # Why her preferences refuse a call (services/attempts/task_page.py REFUSALS)
    "She declined all contact: no call may be made.": lazy_gettext(
        "She declined all contact: no call may be made."
    ),
    "She has not allowed phone calls: no call may be made.": lazy_gettext(
        "She has not allowed phone calls: no call may be made."
    ),
    # Why the on-call supervisor's phone was not told (services/supervision/on_call_notice.py, S8)
    "no on-call supervisor is set for the program": lazy_gettext(
        "no on-call supervisor is set for the program"
    ),
    "the on-call supervisor has no phone of their own on file": lazy_gettext(
        "the on-call supervisor has no phone of their own on file"
    ),
    "the notice's text failed the safety check": lazy_gettext(
        "the notice's text failed the safety check"
    ),
    "the text could not be delivered": lazy_gettext("the text could not be delivered"),
    "no notice was queued yet; the scheduler queues one within a minute": lazy_gettext(
        "no notice was queued yet; the scheduler queues one within a minute"
    ),
    # Why a close is refused (services/attempts/task_page.py, domain/attempt_rules.py)
    "A person answered a call: record how it went first.": lazy_gettext(
        "A person answered a call: record how it went first."
    ),
    "A task is completed only after a conversation that was safe to have.": lazy_gettext(
        "A task is completed only after a conversation that was safe to have."
    ),
    "The contact person asked to be called back and no call has been made at or after that "
    "time; call then before closing as unreachable.": lazy_gettext(
        "The contact person asked to be called back and no call has been made at or after "
        "that time; call then before closing as unreachable."
    ),
    # Why the planner proposes what it does (domain/plan_words.py)
    "She declined all contact: nothing is proposed (S1).": lazy_gettext(
        "She declined all contact: nothing is proposed."
    ),
    "She turned calls off: no call window is proposed (S1).": lazy_gettext(
        "She turned calls off: no call window is proposed."
    ),
    # The call, followed (services/attempts/call_progress.py WORDS)
    "Placing the call…": lazy_gettext("Placing the call…"),
    "Your phone is ringing. Answer it.": lazy_gettext("Your phone is ringing. Answer it."),
    "Your phone answered. Press 1 on it to have her number dialled.": lazy_gettext(
        "Your phone answered. Press 1 on it to have her number dialled."
    ),
    "You pressed 1. Her phone is ringing; she sees the neutral number.": lazy_gettext(
        "You pressed 1. Her phone is ringing; she sees the neutral number."
    ),
    "Her phone answered. She is asked to press a key before you are put through, so a "
    "voicemail never hears you.": lazy_gettext(
        "Her phone answered. She is asked to press a key before you are put through, so a "
        "voicemail never hears you."
    ),
    "A person answered and you are put through. Safe to talk first; then record how it went.": (
        lazy_gettext(
            "A person answered and you are put through. Safe to talk first; then record how "
            "it went."
        )
    ),
    "A person answered. Its outcome is recorded.": lazy_gettext(
        "A person answered. Its outcome is recorded."
    ),
    "A machine or no one pressed a key: the call was ended in silence. It goes in the attempts "
    'as "machine, hung up".': lazy_gettext(
        "A machine or no one pressed a key: the call was ended in silence. It goes in the "
        'attempts as "answering machine: hung up".'
    ),
    "A machine answered: the neutral message she allowed was left. It goes in the attempts "
    'as "voicemail".': lazy_gettext(
        "A machine answered: the neutral message she allowed was left. It goes in the "
        'attempts as "neutral voicemail left".'
    ),
    'Her phone was not answered. It goes in the attempts as "no answer".': lazy_gettext(
        'Her phone was not answered. It goes in the attempts as "no answer".'
    ),
    'Her line was busy. It goes in the attempts as "busy".': lazy_gettext(
        'Her line was busy. It goes in the attempts as "busy".'
    ),
    "The call did not go ahead: her number was never dialled (your phone was not answered, "
    "1 was not pressed, or the task changed meanwhile). Nothing is logged about her.": (
        lazy_gettext(
            "The call did not go ahead: her number was never dialled (your phone was not "
            "answered, 1 was not pressed, or the task changed meanwhile). Nothing is logged "
            "about her."
        )
    ),
    "The phone company could not tell us how the call ended. If you spoke with her, record "
    "the outcome below.": lazy_gettext(
        "The phone company could not tell us how the call ended. If you spoke with her, "
        "record the outcome below."
    ),
}

# Sentences with a number or a day in them: the English pattern, and its translation with the
# same named parts.
PATTERNS = (
    (
        re.compile(
            r"Unreachable needs (?P<needed>\d+) attempts in different windows; "
            r"(?P<made>\d+) so far\."
        ),
        lazy_gettext(
            "Unreachable needs %(needed)s attempts in different windows; %(made)s so far."
        ),
    ),
    (
        re.compile(r"He completed the program on (?P<day>[^:;]+): group time is no longer safe"),
        lazy_gettext("He completed the program on %(day)s: group time is no longer safe"),
    ),
    (
        re.compile(
            r"He left the program \(terminated\) on (?P<day>[^:;]+): group time is no "
            r"longer safe"
        ),
        lazy_gettext("He left the program (terminated) on %(day)s: group time is no longer safe"),
    ),
    (
        re.compile(
            r"His application was rejected on (?P<day>[^:;]+): group time is no longer "
            r"safe"
        ),
        lazy_gettext("His application was rejected on %(day)s: group time is no longer safe"),
    ),
    (
        re.compile(r"He has been on leave since (?P<day>[^:;]+): group time is not safe"),
        lazy_gettext("He has been on leave since %(day)s: group time is not safe"),
    ),
)
# Parts of the planner's sentences that hold no number (domain/plan_words.py).
PARTS = {
    "He is not enrolled yet: no group time before he starts": lazy_gettext(
        "He is not enrolled yet: no group time before he starts"
    ),
    "This contact follows his leaving group: group time is never used for it": lazy_gettext(
        "This contact follows his leaving group: group time is never used for it"
    ),
    "He is not in group at some sessions (before enrolment, after leaving, or on leave)": (
        lazy_gettext(
            "He is not in group at some sessions (before enrolment, after leaving, or on leave)"
        )
    ),
    "only the times she named": lazy_gettext("only the times she named"),
    "she has named no safe time, so no window is proposed: ask her for one": lazy_gettext(
        "she has named no safe time, so no window is proposed: ask her for one"
    ),
    "his record's start": lazy_gettext("his record's start"),
}
RULE_CODE = re.compile(r"\s*\(S\d+(?:\s*[-\u2013,]\s*S?\d+)*\)")


def say(text: object) -> str:
    """A service's sentence in the reader's language; a rule code never reaches the screen
    (issue 22 item 8). A sentence no table knows is shown as written, without its codes."""
    if text is None:
        return ""
    sentence = str(text)
    found = PHRASES.get(sentence)
    if found is not None:
        return str(found)
    whole = _pattern(sentence)
    if whole is not None:
        return whole
    if sentence and not sentence.endswith("."):
        # A refusal quoted inside a sentence of ours: "the task is still open: <why>."
        quoted = say(sentence[:1].upper() + sentence[1:] + ".")
        if quoted != sentence[:1].upper() + sentence[1:] + ".":
            return quoted[:1].lower() + quoted[1:-1]
    if sentence.endswith(".") and "; " in sentence:
        # The planner's "<why group time is refused>; <what is left>." (domain/plan_words.py)
        head, _, tail = sentence[:-1].partition("; ")
        return f"{_part(head)}; {_part(tail)}."
    return _part(sentence)


def _part(text: str) -> str:
    if text in PARTS:
        return str(PARTS[text])
    found = _pattern(text)
    return RULE_CODE.sub("", text) if found is None else found


def _pattern(text: str) -> str | None:
    for pattern, translated in PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return str(translated) % {k: _day(_part(v)) for k, v in match.groupdict().items()}
    return None


ENGLISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
DAY_OF_MONTH = re.compile(r"(\d{1,2}) (" + "|".join(ENGLISH_MONTHS) + ")")


def _day(text: str) -> str:
    """The planner's "3 Dec" with the month in the reader's language ("3 dic")."""
    match = DAY_OF_MONTH.fullmatch(text)
    if match is None or not has_request_context() or _reader_language() == "en":
        return text
    month = Locale.parse(_reader_language()).months["format"]["abbreviated"]
    return f"{match[1]} {month[ENGLISH_MONTHS.index(match[2]) + 1]}"


def _reader_language() -> str:
    return str(get_locale() or "en")
