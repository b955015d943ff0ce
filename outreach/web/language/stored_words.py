"""Stored values shown in words on the staff screens, in the reader's language (issue 22 item 8).

A liaison reads "reached, not safe to talk", never `reached_not_safe`; the words are in the
staff catalogue (outreach/web/translations) like every other staff-screen string.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

# Stored values shown in words, in the reader's language (issue 22 item 8: no internal names
# such as `duty_to_warn` or `no_answer` on a screen). Keys are the vocabulary's values
# (outreach/domain/vocabulary.py); a value missing here is shown with its underscores as spaces.
VOCABULARY = {
    # Why a task is open (TaskReason) and what he did (EventType)
    "intake": lazy_gettext("intake"),
    "accepted": lazy_gettext("accepted"),
    "rejected": lazy_gettext("rejected"),
    "enrolled": lazy_gettext("enrolled"),
    "completed": lazy_gettext("completed"),
    "terminated": lazy_gettext("terminated"),
    "leave_of_absence": lazy_gettext("leave of absence"),
    "returned_from_leave": lazy_gettext("returned from leave"),
    "class_cancelled": lazy_gettext("class cancelled"),
    "level_change": lazy_gettext("level change"),
    "before_discharge": lazy_gettext("before discharge"),
    "discharge_planned": lazy_gettext("discharge planned"),
    "progress_report_due": lazy_gettext("progress report due"),
    "progress_report_check_in": lazy_gettext("progress report check-in"),
    "safety_concern": lazy_gettext("safety concern"),
    "duty_to_warn": lazy_gettext("duty to warn"),
    "participant_may_be_victim": lazy_gettext("participant may be a victim"),
    "resources_only": lazy_gettext("resources only"),
    "periodic_check_in": lazy_gettext("periodic check-in"),
    "completion_letter": lazy_gettext("completion letter"),
    "termination_letter": lazy_gettext("termination letter"),
    # Task status (TaskStatus)
    "open": lazy_gettext("open"),
    "unreachable": lazy_gettext("unreachable"),
    "cancelled": lazy_gettext("cancelled"),
    # How an attempt went (Outcome)
    "no_answer": lazy_gettext("no answer"),
    "busy": lazy_gettext("busy"),
    "machine_hung_up": lazy_gettext("answering machine: hung up"),
    "voicemail_neutral": lazy_gettext("neutral voicemail left"),
    "reached_safe": lazy_gettext("reached, safe to talk"),
    "reached_not_safe": lazy_gettext("reached, not safe to talk"),
    "declined": lazy_gettext("declined all contact"),
    "wrong_number": lazy_gettext("wrong number"),
    "text_sent": lazy_gettext("text sent"),
    # Consent
    "not_asked": lazy_gettext("not asked"),
    "consented": lazy_gettext("consented"),
    # Channels
    "voice": lazy_gettext("phone"),
    "sms": lazy_gettext("text"),
    "mail": lazy_gettext("mail"),
    "voicemail": lazy_gettext("voicemail"),
    # Flags of an attempt (AttemptFlag)
    "before_task_opened": lazy_gettext("before task opened"),
    "entered_late": lazy_gettext("entered late"),
    # Where an attempt was entered (EntryPoint)
    "web": lazy_gettext("these pages"),
    "api": lazy_gettext("the program's system"),
    "webhook": lazy_gettext("the phone service"),
    "import": lazy_gettext("a file import"),
    "scheduler": lazy_gettext("the service itself"),
    "unknown": lazy_gettext("unknown"),
    # Roles
    "liaison": lazy_gettext("victim liaison"),
    "supervisor": lazy_gettext("supervisor"),
    "facilitator": lazy_gettext("facilitator"),
    "admin": lazy_gettext("administrator"),
    # Attendance
    "present": lazy_gettext("present"),
    "absent": lazy_gettext("absent"),
    # Window kinds (WindowKind)
    "group": lazy_gettext("in his group session"),
    "preferred": lazy_gettext("a time she named as safe"),
    "immediate": lazy_gettext("an immediate safety concern"),
    # Her rhythm of check-ins (the profiles' cadence choices, S13)
    "weekly": lazy_gettext("weekly"),
    "fortnightly": lazy_gettext("fortnightly"),
    "monthly": lazy_gettext("monthly"),
    "quarterly": lazy_gettext("quarterly"),
    "every_8_to_10_weeks": lazy_gettext("every 8 to 10 weeks"),
    # The on-call notice of a duty to warn (services/supervision/compliance.py NOTICE_WORDS, S8)
    "not_queued": lazy_gettext("not queued"),
    "queued": lazy_gettext("queued"),
    "sending": lazy_gettext("sending"),
    "sent": lazy_gettext("sent"),
    "delivered": lazy_gettext("delivered"),
    # Severity of a program event
    "routine": lazy_gettext("routine"),
    "elevated": lazy_gettext("elevated"),
    "high": lazy_gettext("high"),
    # Releases of information and compelled disclosures (domain/releases.py, S7)
    "court": lazy_gettext("court"),
    "probation": lazy_gettext("probation"),
    "program_facilitators": lazy_gettext("the program's facilitators"),
    "victim_services": lazy_gettext("victim services"),
    "child_welfare": lazy_gettext("child welfare"),
    "other": lazy_gettext("other"),
    "progress_report": lazy_gettext("progress report"),
    "group_work": lazy_gettext("work in group"),
    "safety_planning": lazy_gettext("safety planning"),
    "court_proceeding": lazy_gettext("court proceeding"),
    "services_referral": lazy_gettext("referral to services"),
    "contact_made": lazy_gettext("contact made"),
    "statement": lazy_gettext("statement"),
    "signed_form": lazy_gettext("signed form"),
    "signed_electronically": lazy_gettext("signed electronically"),
    "oral": lazy_gettext("said aloud"),
    "written": lazy_gettext("in writing"),
    "program": lazy_gettext("by the program"),
    "court_order": lazy_gettext("court order"),
    "subpoena": lazy_gettext("subpoena"),
    "statute": lazy_gettext("statute"),
    "contact_details": lazy_gettext("contact details"),
    "attempt_log": lazy_gettext("attempt log"),
    "notes": lazy_gettext("notes"),
    "releases": lazy_gettext("releases"),
    # Who recorded a version of her preferences (ContactPreferences.source)
    "create": lazy_gettext("first record"),
    "carrier_opt_out": lazy_gettext("her phone company's opt-out"),
    "opt_back_in": lazy_gettext("her opting back in"),
    "demo": lazy_gettext("demo data"),
    "sms_stop": lazy_gettext("her STOP text"),
    # Languages
    "en": lazy_gettext("English"),
    "es": lazy_gettext("Spanish"),
}


def words(value: object) -> str:
    """Show a stored value ("reached_not_safe") in words, translated ("reached, not safe to
    talk"; "contactada, no es seguro hablar")."""
    text = str(value)
    found = VOCABULARY.get(text)
    return str(found) if found is not None else text.replace("_", " ")
