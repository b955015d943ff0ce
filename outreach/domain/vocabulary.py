"""The words the product uses, shared by every layer (values are stored and sent as-is)."""

from enum import StrEnum


class Role(StrEnum):
    LIAISON = "liaison"
    SUPERVISOR = "supervisor"
    FACILITATOR = "facilitator"
    ADMIN = "admin"


class Consent(StrEnum):
    """S1: a contact person's consent status."""

    NOT_ASKED = "not_asked"
    CONSENTED = "consented"
    DECLINED = "declined"


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    MAIL = "mail"


class EventType(StrEnum):
    """What a program reports about a participant (POST /participants/{id}/events)."""

    ENROLLED = "enrolled"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    LEAVE_OF_ABSENCE = "leave_of_absence"
    RETURNED_FROM_LEAVE = "returned_from_leave"
    CLASS_CANCELLED = "class_cancelled"
    LEVEL_CHANGE = "level_change"
    PROGRESS_REPORT_DUE = "progress_report_due"
    DISCHARGE_PLANNED = "discharge_planned"
    SAFETY_CONCERN = "safety_concern"
    DUTY_TO_WARN = "duty_to_warn"
    PARTICIPANT_MAY_BE_VICTIM = "participant_may_be_victim"
    # Issue 20 item 8: what a status update she asked for is about. He missed a session
    # (attendance; his status does not change), and the program's periodic progress summary
    # (seeds/001, Emerge: "monthly participant progress reports").
    ABSENT = "absent"
    PROGRESS_SUMMARY = "progress_summary"


# The events that begin and end a participant's time in the program; the latest of them says
# whether the participant is in it. "enrolled" is entry (and re-entry); "accepted" is entry
# after an application (PCADV). "completed" and "terminated" are the two discharges; a
# rejected application ends it before it began. A leave of absence is not an end for
# check-ins: the participant stays enrolled and is expected back. Group time is another
# matter (S4): domain/participation.py replays these and the leave and return together.
PARTICIPATION_STARTS = frozenset({EventType.ENROLLED, EventType.ACCEPTED})
PARTICIPATION_ENDS = frozenset({EventType.COMPLETED, EventType.TERMINATED, EventType.REJECTED})

# Events about a day still to come, and the field that carries that day (INTERFACES.md,
# POST /participants/{id}/events): a task may be due *before* it. A planned discharge is not
# a discharge: he is still in the program until `completed` or `terminated` is reported.
# seeds/001, Caminar Latino: advocates "check in with victims before submitting progress
# reports to the court": the event carries the report's date, `report_date`.
DATED_EVENTS = {
    EventType.DISCHARGE_PLANNED: "discharge_on",
    EventType.PROGRESS_REPORT_DUE: "report_date",
}


class Severity(StrEnum):
    ROUTINE = "routine"
    ELEVATED = "elevated"
    HIGH = "high"


class TaskReason(StrEnum):
    """Why a contact is required; each reason has a call script in every language (S12)."""

    INTAKE = "intake"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    LEAVE_OF_ABSENCE = "leave_of_absence"
    CLASS_CANCELLED = "class_cancelled"
    LEVEL_CHANGE = "level_change"
    BEFORE_DISCHARGE = "before_discharge"
    PROGRESS_REPORT_CHECK_IN = "progress_report_check_in"
    SAFETY_CONCERN = "safety_concern"
    DUTY_TO_WARN = "duty_to_warn"
    RESOURCES_ONLY = "resources_only"
    PERIODIC_CHECK_IN = "periodic_check_in"
    COMPLETION_LETTER = "completion_letter"
    TERMINATION_LETTER = "termination_letter"
    # Issue 20 item 8: an update on his attendance and progress she asked for (seeds/001,
    # Caminar Latino: "general updates on the abusive partner's attendance and progress").
    STATUS_UPDATE = "status_update"


# The events a status update she asked for may follow: changes in his attendance (a missed
# session, a leave, his return) and a progress summary (seeds/001 Caminar Latino and Emerge;
# seeds/004 PCADV item 4 "attendance"). Nothing else: a discharge or a duty to warn has its
# own contact in every profile.
UPDATE_EVENTS = frozenset(
    {
        EventType.ABSENT,
        EventType.LEAVE_OF_ABSENCE,
        EventType.RETURNED_FROM_LEAVE,
        EventType.PROGRESS_SUMMARY,
    }
)

# Tasks that, where she chose texts over calls, are one discreet text inviting her to reply or
# ask for a call; the text sent is the contact made (services/intake/check_ins.py).
TEXTED_REASONS = frozenset({TaskReason.PERIODIC_CHECK_IN, TaskReason.STATUS_UPDATE})
# Tasks that, where she chose texts over calls, send the same discreet text at once, but that
# text is only an invitation: the task stays open for the liaison until she is reached. An
# explicit threat must reach her (seeds/001 Massachusetts: "Advocates contact victims
# immediately if there is an explicit threat"), on the one channel she left open (S1), and the
# text says nothing of it (S2).
INVITED_BY_TEXT = frozenset({TaskReason.SAFETY_CONCERN})


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


class DeliveryKind(StrEnum):
    """What one outward action is: a delivery row's kind (S1 says which she allowed)."""

    BRIDGED_CALL = "bridged_call"  # the liaison's phone rings first, then hers
    SAFE_CHECK_CALL = "safe_check_call"  # an automated call asking her to press 1 or 2
    SMS = "sms"  # an approved neutral text to her (S2)
    LETTER = "letter"  # the letter the liaison printed and mailed (S9)
    ON_CALL_SMS = "on_call_sms"  # a notice to a supervisor's own phone, never hers (S8)


class DeliveryStatus(StrEnum):
    """Where a delivery stands: pending -> sending -> sent -> (in_progress) -> settled.

    A delivery ends settled, failed (the provider refused it), refused (a safety rule or the
    liaison's leg stopped it: nothing about her happened), missed (its window closed before it
    went) or unknown (left to a person: nothing told us how it ended)."""

    PENDING = "pending"
    SENDING = "sending"  # claimed: a crash from here on is reconciled, never sent twice
    SENT = "sent"
    IN_PROGRESS = "in_progress"
    SETTLED = "settled"
    FAILED = "failed"
    REFUSED = "refused"
    MISSED = "missed"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    """The outcome of one attempt (INTERFACES.md, POST /tasks/{id}/attempts)."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE_HUNG_UP = "machine_hung_up"
    VOICEMAIL_NEUTRAL = "voicemail_neutral"
    REACHED_SAFE = "reached_safe"
    REACHED_NOT_SAFE = "reached_not_safe"
    DECLINED = "declined"
    WRONG_NUMBER = "wrong_number"
    # The check-in text she chose over calls went out (S13; PRODUCT.md "Consented
    # reminders": "a consented, check-in-style text where she chose texts over calls").
    # Only the service records it, as it sends the text; no person types it.
    TEXT_SENT = "text_sent"
    # NY OPDV (seeds/000): a safety concern is "handled with great care, and in conjunction
    # with a victim services program": its referral there, recorded by the liaison, handles the
    # safety_concern task of a profile that says so (`victim_services_referral`).
    REFERRED_TO_VICTIM_SERVICES = "referred_to_victim_services"
    # The letter she allowed went out: the liaison printed it from the approved template to
    # the address she named as safe and confirmed mailing it (seeds/001 "Massachusetts":
    # "the victim advocate sends a letter"). Only the service records it, on that
    # confirmation, so no letter is logged that was never produced.
    LETTER_SENT = "letter_sent"


# What only the service records, as it sends or produces it; nobody types these.
SERVICE_OUTCOMES = frozenset({Outcome.TEXT_SENT, Outcome.LETTER_SENT})
# The outcomes a liaison or a program system may record; the service records the others.
STAFF_OUTCOMES = tuple(o for o in Outcome if o not in SERVICE_OUTCOMES)


class EntryPoint(StrEnum):
    """S14: through what an attempt reached the log."""

    WEB = "web"  # a liaison's or supervisor's pages
    API = "api"  # a program system's or staff tool's token
    WEBHOOK = "webhook"  # the service, from the provider's callbacks
    IMPORT = "import"  # a file loaded from the command line
    SCHEDULER = "scheduler"  # the service's own sends (a check-in text she chose)
    UNKNOWN = "unknown"  # logged before the entry point was kept (migration 0012)


class AttemptFlag(StrEnum):
    """S14: what about an attempt's time a supervisor should look at."""

    BEFORE_TASK_OPENED = "before_task_opened"
    ENTERED_LATE = "entered_late"  # entered longer after it happened than the setting allows


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


class WindowKind(StrEnum):
    GROUP = "group"
    PREFERRED = "preferred"
    IMMEDIATE = "immediate"
    DUTY_TO_WARN = "duty_to_warn"


LANGUAGES = ("en", "es")
