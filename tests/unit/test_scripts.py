"""The approved-scripts library and its safety lint (S2, S3, S6, S9, S11, S12)."""

import shutil
from pathlib import Path

import pytest

from outreach.domain import script_rules
from outreach.domain.scripts import (
    Finding,
    RenderError,
    approve_library,
    check_neutral_text,
    default_root,
    lint_library,
    load_library,
    render,
    sections,
)
from outreach.domain.vocabulary import LANGUAGES, TaskReason

SHIPPED = default_root()
NEUTRAL_VALUES = {"first_name": "Maria", "liaison_first_name": "Sam"}
CALL_VALUES = {
    **NEUTRAL_VALUES,
    "program_name": "Northside Program",
    "participant_status": "attending",
    "resources": "Local support line\nLegal help desk",
    # The program's referrals by name (config/referrals/, PRODUCT.md "Referrals are data").
    "dv_program": "Local support line",
    "legal_services": "Legal help desk",
    "victim_witness": "Court help desk",
    "shelter": "Safe house",
    "hotline": "National line",
}
LETTER_REASONS = {TaskReason.COMPLETION_LETTER, TaskReason.TERMINATION_LETTER}
CALL_REASONS = [reason for reason in TaskReason if reason not in LETTER_REASONS]


@pytest.fixture
def library_root(tmp_path: Path) -> Path:
    """A private, approved copy of the shipped library that a test may edit."""
    root = tmp_path / "scripts_text"
    shutil.copytree(SHIPPED, root)
    return root


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def rules_of(findings: list[Finding], path: str | None = None) -> set[str]:
    return {f.rule for f in findings if path is None or f.path == path}


def rendered_error(root: Path, kind: str, name: str, lang: str, values: dict[str, str]) -> set[str]:
    with pytest.raises(RenderError) as excinfo:
        render(load_library(root), kind, name, lang, values)
    return rules_of(excinfo.value.findings)


# --- the shipped library -----------------------------------------------------------------


def test_the_shipped_library_lints_clean() -> None:
    assert lint_library(SHIPPED) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reason", CALL_REASONS)
def test_every_reason_has_a_call_script_that_opens_with_the_safe_to_talk_check(
    reason: TaskReason, language: str
) -> None:
    text = render(load_library(SHIPPED), "call", reason, language, CALL_VALUES)
    names = [name for name, _, _ in sections(text)]
    assert names[:2] == ["safe-to-talk", "not-safe"]
    assert "confidentiality" in names


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_resources_only_call_gives_no_program_status(language: str) -> None:
    # S11: resources once, nothing about the program or the participant.
    script = load_library(SHIPPED).get("call", TaskReason.RESOURCES_ONLY, language)
    assert script is not None
    assert "{program_name}" not in script.text
    assert "{participant_status}" not in script.text


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "What you tell me is kept apart from your partner's file."),
        ("en", "It is not shared with the staff who work with them."),
        ("en", "I won't be sharing any program information."),
        ("es", "Se guarda aparte del expediente de su expareja."),
        ("es", "No voy a darle información sobre el programa."),
    ],
)
def test_an_s11_text_that_names_the_case_is_refused(
    library_root: Path, language: str, said: str
) -> None:
    # S11 (issue 19): the person called may be the one who harms him; the resources-only
    # call names no program, participant, file, nor anyone who works with him.
    rel = f"{language}/call/resources_only.txt"
    text = (library_root / rel).read_text(encoding="utf-8")
    write(library_root, rel, text.replace("[resources]", f"{said}\n\n[resources]"))
    assert "s11-names-the-case" in rules_of(lint_library(library_root), rel)


def test_an_s11_note_to_the_liaison_may_name_the_program(library_root: Path) -> None:
    rel = "en/call/resources_only.txt"
    text = (library_root / rel).read_text(encoding="utf-8")
    write(library_root, rel, text + "> Never mention the program.\n")
    assert "s11-names-the-case" not in rules_of(lint_library(library_root), rel)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("sms", "reminder"),
        ("sms", "safe_check"),
        ("sms", "help"),
        ("sms", "stop_confirmation"),
        ("sms", "start_confirmation"),
        ("voicemail", "neutral"),
        ("voice", "safe_check_prompt"),
        ("voice", "screen_prompt"),
        ("mail", "envelope"),
    ],
)
def test_every_neutral_script_renders_to_a_text_that_names_nothing(
    kind: str, name: str, language: str
) -> None:
    text = render(load_library(SHIPPED), kind, name, language, NEUTRAL_VALUES)
    assert check_neutral_text(text, kind=kind) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ["completion_letter", "termination_letter"])
def test_letters_render_with_the_program_name_inside_the_envelope(name: str, language: str) -> None:
    values = {**NEUTRAL_VALUES, "program_name": "Northside", "date": "2025-03-01", "resources": "x"}
    text = render(load_library(SHIPPED), "mail", name, language, values)
    assert "Northside" in text
    assert "{" not in text


# --- each rule catches what it should ----------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Hi {first_name}, your program called. Reply 1 yes."),
        ("en", "Hi {first_name}, about the PROTECTIVE\norder."),
        ("es", "Hola {first_name}, le llama la intercesora del programa."),
        ("es", "Hola {first_name}, sobre la víctima."),
        ("es", "Hola {first_name}, sobre la VICTIMA."),
        ("en", "Hi {first_name}, a note from Caring Dads."),
    ],
)
def test_a_neutral_text_that_names_the_program_or_the_reason_is_refused(
    library_root: Path, language: str, text: str
) -> None:
    rel = f"{language}/sms/reminder.txt"
    write(library_root, rel, text)
    assert "identifying-word" in rules_of(lint_library(library_root), rel)


def test_a_word_from_the_local_denylist_is_refused(library_root: Path) -> None:
    write(library_root, "denylist.toml", 'terms = ["Northside Center"]\n')
    write(library_root, "en/sms/help.txt", "Texts from the northside   center. Reply STOP.")
    assert "identifying-word" in rules_of(lint_library(library_root), "en/sms/help.txt")


@pytest.mark.parametrize(
    "text",
    [
        "Hi {first_name}, see https://example.org/x",
        "Hi {first_name}, see www.example.com",
        "Hi {first_name}, see bit.ly/abc",
    ],
)
def test_a_neutral_text_with_a_web_address_is_refused(library_root: Path, text: str) -> None:
    write(library_root, "en/sms/reminder.txt", text)
    assert "web-address" in rules_of(lint_library(library_root), "en/sms/reminder.txt")


@pytest.mark.parametrize(
    "text", ["Call me at 202-555-0143.", "Call (202) 555 0143", "Call +1 202 555 0143"]
)
def test_a_neutral_text_with_a_callback_number_is_refused(library_root: Path, text: str) -> None:
    write(library_root, "en/sms/reminder.txt", text)
    assert "phone-number" in rules_of(lint_library(library_root), "en/sms/reminder.txt")


def test_single_digit_reply_and_keypad_choices_are_allowed() -> None:
    assert check_neutral_text("Reply 1 yes, 2 later.") == []
    assert check_neutral_text("Press 1 to talk now, or 2 for later.", kind="voice") == []


def test_a_voicemail_may_hold_no_digits_at_all(library_root: Path) -> None:
    # S3: not even a short code or extension that could lead back to the agency.
    write(library_root, "en/voicemail/neutral.txt", "Hi {first_name}, call me on 7.")
    findings = lint_library(library_root)
    assert "voicemail-digits" in rules_of(findings, "en/voicemail/neutral.txt")


def test_an_sms_longer_than_two_segments_is_refused(library_root: Path) -> None:
    write(library_root, "en/sms/reminder.txt", "Hi {first_name}. " + "Just checking in. " * 20)
    assert "sms-too-long" in rules_of(lint_library(library_root), "en/sms/reminder.txt")


def test_sms_size_counts_gsm7_extension_characters_twice() -> None:
    assert script_rules.sms_size("a" * 306) == ("GSM-7", 306, 306)
    assert script_rules.sms_size("€" * 153) == ("GSM-7", 306, 306)


def test_sms_size_switches_to_ucs2_for_characters_outside_gsm7() -> None:
    # é and ñ are in GSM-7; á is not, so one á turns the whole message into UCS-2.
    assert script_rules.sms_size("ñé" * 100)[0] == "GSM-7"
    assert script_rules.sms_size("á" + "a" * 133) == ("UCS-2", 134, 134)
    assert script_rules.sms_size("😀") == ("UCS-2", 2, 134)


def test_a_script_missing_its_spanish_twin_is_reported(library_root: Path) -> None:
    # S12
    (library_root / "es" / "sms" / "reminder.txt").unlink()
    findings = lint_library(library_root)
    assert (
        Finding("es/sms/reminder.txt", 0, "missing-translation", "S12: no es text (exists in en)")
        in findings
    )


def test_a_new_script_in_one_language_only_is_reported(library_root: Path) -> None:
    write(library_root, "en/sms/evening.txt", "Hi {first_name}, is tonight good for a call?")
    findings = lint_library(library_root)
    assert "missing-translation" in rules_of(findings, "es/sms/evening.txt")
    assert "not-approved" in rules_of(findings, "en/sms/evening.txt")


def test_a_required_script_missing_in_every_language_is_reported(library_root: Path) -> None:
    for language in LANGUAGES:
        (library_root / language / "call" / "duty_to_warn.txt").unlink()
    findings = lint_library(library_root)
    assert "missing-script" in rules_of(findings, "en/call/duty_to_warn.txt")
    assert "missing-script" in rules_of(findings, "es/call/duty_to_warn.txt")


def test_a_text_edited_after_approval_fails_until_re_approved(library_root: Path) -> None:
    path = library_root / "en" / "sms" / "help.txt"
    path.write_text(path.read_text(encoding="utf-8") + " Thanks!", encoding="utf-8")
    assert "changed-since-approval" in rules_of(lint_library(library_root), "en/sms/help.txt")
    assert approve_library(library_root) == []
    assert lint_library(library_root) == []


def test_an_edited_text_is_not_rendered_until_re_approved(library_root: Path) -> None:
    path = library_root / "en" / "sms" / "help.txt"
    path.write_text(path.read_text(encoding="utf-8") + " Thanks!", encoding="utf-8")
    rules = rendered_error(library_root, "sms", "help", "en", NEUTRAL_VALUES)
    assert rules == {"changed-since-approval"}


def test_approval_refuses_a_text_that_breaks_a_safety_rule(library_root: Path) -> None:
    manifest = (library_root / "manifest.toml").read_text(encoding="utf-8")
    write(library_root, "en/sms/help.txt", "Texts from the shelter. Reply STOP.")
    blocking = approve_library(library_root)
    assert "identifying-word" in rules_of(blocking)
    assert (library_root / "manifest.toml").read_text(encoding="utf-8") == manifest


def test_approving_an_unchanged_library_leaves_the_manifest_as_it_was(library_root: Path) -> None:
    manifest = (library_root / "manifest.toml").read_text(encoding="utf-8")
    assert approve_library(library_root) == []
    assert (library_root / "manifest.toml").read_text(encoding="utf-8") == manifest


@pytest.mark.parametrize("kind", ["sms", "voicemail", "voice"])
def test_a_participant_placeholder_in_a_neutral_text_is_refused(
    library_root: Path, kind: str
) -> None:
    rel = {"sms": "en/sms/reminder.txt", "voicemail": "en/voicemail/neutral.txt"}.get(
        kind, "en/voice/safe_check_prompt.txt"
    )
    write(library_root, rel, "Hi {first_name}, about {participant_name}.")
    assert "participant-placeholder" in rules_of(lint_library(library_root), rel)


@pytest.mark.parametrize("name", ["screen_prompt", "bridge_confirm_prompt"])
@pytest.mark.parametrize("placeholder", ["first_name", "liaison_first_name"])
def test_a_prompt_said_before_a_key_press_names_no_one(
    library_root: Path, name: str, placeholder: str
) -> None:
    """S3: said the moment a phone answers, it may be recorded by a voicemail (issue 24)."""
    rel = f"es/voice/{name}.txt"
    write(library_root, rel, f"Hola {{{placeholder}}}, marque 1.")
    assert "named-before-key" in rules_of(lint_library(library_root), rel)


def test_a_placeholder_the_kind_may_not_use_is_refused(library_root: Path) -> None:
    write(library_root, "en/sms/reminder.txt", "Hi {first_name}, from {program_name}.")
    findings = lint_library(library_root)
    assert "placeholder-not-allowed" in rules_of(findings, "en/sms/reminder.txt")


def test_a_stray_brace_is_reported(library_root: Path) -> None:
    write(library_root, "en/sms/reminder.txt", "Hi {first name}, call soon.")
    findings = lint_library(library_root)
    assert "malformed-placeholder" in rules_of(findings, "en/sms/reminder.txt")


def test_a_call_script_must_begin_with_the_safe_to_talk_check(library_root: Path) -> None:
    # S6
    rel = "en/call/intake.txt"
    text = (library_root / rel).read_text(encoding="utf-8")
    write(library_root, rel, "Hello, I'm calling from {program_name}.\n" + text)
    findings = lint_library(library_root)
    assert "safe-to-talk-first" in rules_of(findings, rel)


def test_a_call_script_without_the_not_safe_section_is_refused(library_root: Path) -> None:
    rel = "en/call/intake.txt"
    write(library_root, rel, "[safe-to-talk]\nIs this a safe time?\n[confidentiality]\nLimits.")
    assert "missing-section" in rules_of(lint_library(library_root), rel)


def test_a_call_script_may_not_name_the_program_before_the_person_said_it_is_safe(
    library_root: Path,
) -> None:
    rel = "es/call/intake.txt"
    text = (library_root / rel).read_text(encoding="utf-8")
    unsafe = text.replace("Habla {liaison_first_name}.", "Le llamo de {program_name}, el programa.")
    write(library_root, rel, unsafe)
    rules = rules_of(lint_library(library_root), rel)
    assert {"named-before-safe", "identifying-word"} <= rules


def test_a_misplaced_file_is_reported(library_root: Path) -> None:
    write(library_root, "fr/sms/reminder.txt", "Bonjour.")
    write(library_root, "en/fax/reminder.txt", "Hi.")
    findings = lint_library(library_root)
    assert "bad-path" in rules_of(findings, "fr/sms/reminder.txt")
    assert "bad-path" in rules_of(findings, "en/fax/reminder.txt")


def test_a_manifest_that_marks_an_sms_as_not_neutral_is_refused(library_root: Path) -> None:
    manifest = library_root / "manifest.toml"
    text = manifest.read_text(encoding="utf-8")
    entry = '[scripts."en/sms/help.txt"]\nkind = "sms"\nlanguage = "en"\nneutral = true'
    assert entry in text
    manifest.write_text(text.replace(entry, entry.replace("true", "false")), encoding="utf-8")
    assert "manifest-mismatch" in rules_of(lint_library(library_root), "en/sms/help.txt")


def test_an_unreadable_manifest_is_one_finding_not_a_crash(library_root: Path) -> None:
    write(library_root, "manifest.toml", "this is [not toml")
    assert rules_of(lint_library(library_root)) == {"manifest-unreadable"}


# --- render: the one render-and-lint function --------------------------------------------


def test_render_fills_a_neutral_sms() -> None:
    text = render(load_library(SHIPPED), "sms", "safe_check", "en", NEUTRAL_VALUES)
    assert text.startswith("Hi Maria, this is Sam.")
    assert text == text.strip()


@pytest.mark.parametrize(
    "first_name", ["Program", "Víctima", "Dv", "Maria Shelter", "Pro\u200bgram"]
)
def test_render_refuses_a_first_name_that_smuggles_an_identifying_word_into_an_sms(
    first_name: str,
) -> None:
    with pytest.raises(RenderError) as excinfo:
        render(
            load_library(SHIPPED),
            "sms",
            "reminder",
            "en",
            {**NEUTRAL_VALUES, "first_name": first_name},
        )
    assert rules_of(excinfo.value.findings) <= {"identifying-word", "control-character"}


def test_render_refuses_a_first_name_that_hides_a_phone_number_or_a_link() -> None:
    library = load_library(SHIPPED)
    for name in ("Ann 202 555 0143", "Ann www.help.org"):
        with pytest.raises(RenderError):
            render(library, "sms", "reminder", "es", {**NEUTRAL_VALUES, "first_name": name})


def test_render_refuses_a_name_that_makes_the_sms_too_long() -> None:
    values = {**NEUTRAL_VALUES, "first_name": "Á" * 60}
    with pytest.raises(RenderError) as excinfo:
        render(load_library(SHIPPED), "sms", "reminder", "es", values)
    assert rules_of(excinfo.value.findings) == {"sms-too-long"}


def test_render_refuses_the_program_name_passed_as_forbidden() -> None:
    values = {**NEUTRAL_VALUES, "first_name": "Northside"}
    with pytest.raises(RenderError):
        render(load_library(SHIPPED), "sms", "reminder", "en", values, forbidden=["Northside"])


def test_render_refuses_a_participant_value_for_an_sms() -> None:
    values = {**NEUTRAL_VALUES, "participant_name": "John"}
    rules = rendered_error(SHIPPED, "sms", "reminder", "en", values)
    assert rules == {"placeholder-not-allowed"}


def test_render_refuses_a_missing_or_blank_value() -> None:
    assert rendered_error(SHIPPED, "sms", "reminder", "en", {"first_name": "Maria"}) == {
        "missing-value"
    }
    blank = {**NEUTRAL_VALUES, "first_name": "  "}
    assert rendered_error(SHIPPED, "sms", "reminder", "en", blank) == {"missing-value"}


def test_render_refuses_a_line_break_in_a_name() -> None:
    values = {**NEUTRAL_VALUES, "first_name": "Maria\n[safe-to-talk]"}
    assert rendered_error(SHIPPED, "call", "intake", "en", {**CALL_VALUES, **values}) == {
        "control-character"
    }


def test_render_refuses_a_script_missing_in_the_language(library_root: Path) -> None:
    # S12: never fall back silently to another language.
    (library_root / "es" / "sms" / "help.txt").unlink()
    assert rendered_error(library_root, "sms", "help", "es", NEUTRAL_VALUES) == {"missing-script"}
    assert rendered_error(library_root, "sms", "help", "fr", NEUTRAL_VALUES) == {"unknown-language"}


def test_render_refuses_a_name_that_names_the_program_in_the_call_opening() -> None:
    values = {**CALL_VALUES, "first_name": "Maria from the program"}
    rules = rendered_error(SHIPPED, "call", "intake", "en", values)
    assert "identifying-word" in rules


def test_render_findings_never_repeat_the_value() -> None:
    secret = "Violencia 202-555-0143 www.example.org"
    with pytest.raises(RenderError) as excinfo:
        render(
            load_library(SHIPPED), "sms", "reminder", "en", {**NEUTRAL_VALUES, "first_name": secret}
        )
    assert "202" not in str(excinfo.value)
    assert "example" not in str(excinfo.value)
