"""The approved-scripts library: load, lint, approve and render the texts in `scripts_text/`.

Every message the product sends or shows comes from `scripts_text/<lang>/<kind>/<name>.txt`
and goes through `render()`, the one render-and-lint function (STYLE.md rule 5). Neutral
kinds (SMS, voicemail, automated voice prompts, the envelope) are linted again after the
values are filled in, so a value can never smuggle an identifying word into them (S2, S3).
The rules and the workflow are described in `scripts_text/README.md`.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from outreach.domain import script_rules as rules
from outreach.domain.script_library import (
    BEFORE_A_KEY,
    MANIFEST,
    NEUTRAL_PLACEHOLDERS,
    PLACEHOLDER,
    REQUIRED_SCRIPTS,
    Approval,
    Finding,
    RenderError,
    Script,
    ScriptLibrary,
    ScriptLibraryError,
    approval_for,
    default_root,
    has_text_before_first_section,
    load_library,
    manifest_toml,
    sections,
    whole,
)
from outreach.domain.vocabulary import LANGUAGES

__all__ = [
    "Approval",
    "Finding",
    "RenderError",
    "Script",
    "ScriptLibrary",
    "ScriptLibraryError",
    "approve_library",
    "check_neutral_text",
    "default_root",
    "lint_library",
    "load_library",
    "render",
    "sections",
]

# S6: a call script opens with these sections, in this order; they are spoken before the
# liaison knows who is listening, so they are held to the neutral rules as well.
CALL_OPENING = ("safe-to-talk", "not-safe")
CALL_REQUIRED_SECTIONS = (*CALL_OPENING, "confidentiality")

# Only a list of resources may span lines; a line break in a name could fake a section or a
# second message.
MULTILINE_PLACEHOLDERS = frozenset({"resources"})

# The template lint assumes each placeholder in an SMS is filled with this many characters
# that force UCS-2, so an approved SMS fits two segments for any reasonable name.
SMS_PLACEHOLDER_BUDGET = 20
# S11: the one call made when the participant may be the victim (TaskReason.RESOURCES_ONLY).
S11_SCRIPT = "resources_only"
_S11_PATTERN = rules.term_pattern(rules.S11_FORBIDDEN_TERMS)

# Rules `approve_library` resolves by rewriting the manifest; every other finding blocks it.
APPROVAL_RULES = frozenset(
    {"not-approved", "changed-since-approval", "manifest-orphan", "manifest-mismatch"}
    | {"placeholder-not-declared"}
)

# --- linting the library -----------------------------------------------------------------


def lint_library(root: Path) -> list[Finding]:
    """Check every text under root against the safety rules and the manifest."""
    try:
        library = load_library(root)
    except ScriptLibraryError as exc:
        return [whole(MANIFEST, "manifest-unreadable", str(exc))]
    pattern = rules.term_pattern(rules.identifying_terms(library.extra_terms))
    findings = [*library.problems, *_coverage_findings(library), *_manifest_findings(library)]
    for script in library.scripts.values():
        findings.extend(_script_findings(script, pattern))
    return sorted(set(findings))


def _coverage_findings(library: ScriptLibrary) -> Iterator[Finding]:
    # S12: every required script, and every extra one, exists in every language.
    wanted = {(k, n) for k, names in REQUIRED_SCRIPTS.items() for n in names}
    wanted |= {(kind, name) for kind, name, _ in library.scripts}
    for kind, name in sorted(wanted):
        present = [lang for lang in LANGUAGES if library.get(kind, name, lang) is not None]
        for lang in LANGUAGES:
            if lang in present:
                continue
            rule = "missing-translation" if present else "missing-script"
            message = f"S12: no {lang} text" + (
                f" (exists in {', '.join(present)})" if present else ""
            )
            yield whole(f"{lang}/{kind}/{name}.txt", rule, message)


def _manifest_findings(library: ScriptLibrary) -> Iterator[Finding]:
    on_disk = {script.path: script for script in library.scripts.values()}
    for rel, approval in sorted(library.approvals.items()):
        script = on_disk.get(rel)
        if script is None:
            yield whole(MANIFEST, "manifest-orphan", f"{rel} is approved but missing")
        elif (approval.kind, approval.language) != (script.kind, script.language):
            yield whole(rel, "manifest-mismatch", "kind or language differs from the path")
        elif script.neutral and not approval.neutral:
            yield whole(rel, "manifest-mismatch", f"{script.kind} texts must be marked neutral")
        elif not approval.placeholders <= script.permitted:
            yield whole(rel, "manifest-mismatch", "declares placeholders this kind may not use")


def _script_findings(script: Script, pattern: re.Pattern[str]) -> Iterator[Finding]:
    if not script.text.strip():
        yield whole(script.path, "empty", "the text is empty")
        return
    yield from _approval_findings(script)
    yield from _placeholder_findings(script)
    if script.neutral:
        yield from _neutral_findings(script.path, script.kind, _blank(script.text), pattern)
    if script.kind == "sms":
        yield from _sms_size_findings(script.path, _with_budget(script.text))
    if script.kind == "call":
        yield from _call_findings(script, pattern)


def _approval_findings(script: Script) -> Iterator[Finding]:
    if script.approval is None:
        yield whole(script.path, "not-approved", "not in the manifest: review, then approve")
    elif not script.approved:
        yield whole(script.path, "changed-since-approval", "edited after approval: re-approve")


def _placeholder_findings(script: Script) -> Iterator[Finding]:
    for number, line in enumerate(script.text.splitlines(), start=1):
        if "{" in PLACEHOLDER.sub("", line) or "}" in PLACEHOLDER.sub("", line):
            yield Finding(script.path, number, "malformed-placeholder", "use {lower_case_name}")
        for name in PLACEHOLDER.findall(line):
            yield from _placeholder_finding(script, number, name)


def _placeholder_finding(script: Script, line: int, name: str) -> Iterator[Finding]:
    if (script.kind, script.name) in BEFORE_A_KEY:
        # S3: said before a key press proves a person is listening; a machine may record it.
        yield Finding(script.path, line, "named-before-key", f"{{{name}}} before a key press")
    elif script.neutral and name.startswith("participant"):
        # S2, S3: nothing about the participant may reach a text the abuser may read.
        yield Finding(script.path, line, "participant-placeholder", f"{{{name}}} in a neutral text")
    elif name not in script.permitted:
        yield Finding(script.path, line, "placeholder-not-allowed", f"{{{name}}} not allowed here")
    elif script.approval is not None and name not in script.approval.placeholders:
        yield Finding(script.path, line, "placeholder-not-declared", f"{{{name}}} not approved")


def _neutral_findings(
    path: str, kind: str, text: str, pattern: re.Pattern[str], first_line: int = 1
) -> Iterator[Finding]:
    # S2, S3, S9: assume the abuser reads or hears it.
    offset = first_line - 1
    for hit in rules.find_terms(text, pattern):
        yield Finding(path, hit.line + offset, "identifying-word", hit.detail)
    for hit in rules.find_urls(text):
        yield Finding(path, hit.line + offset, "web-address", hit.detail)
    if kind == "voicemail":
        # S3: a voicemail carries no callback number at all, so no digits either.
        for hit in rules.find_digits(text):
            yield Finding(path, hit.line + offset, "voicemail-digits", "no digits in a voicemail")
    else:
        for hit in rules.find_phone_numbers(text):
            yield Finding(path, hit.line + offset, "phone-number", hit.detail)


def _sms_size_findings(path: str, body: str) -> Iterator[Finding]:
    encoding, size, limit = rules.sms_size(body.strip())
    if size > limit:
        message = f"{size} {encoding} units, more than two segments ({limit})"
        yield whole(path, "sms-too-long", message)


def _blank(text: str) -> str:
    # Placeholder names ("liaison_first_name") are not words anyone reads; the values are
    # linted when rendered.
    return PLACEHOLDER.sub("", text)


def _with_budget(text: str) -> str:
    return PLACEHOLDER.sub("Á" * SMS_PLACEHOLDER_BUDGET, text)


def _call_findings(script: Script, pattern: re.Pattern[str]) -> Iterator[Finding]:
    found = sections(script.text)
    names = [name for name, _, _ in found]
    if not found or names[0] != "safe-to-talk" or has_text_before_first_section(script.text):
        yield whole(script.path, "safe-to-talk-first", "S6: must begin with [safe-to-talk]")
    for required in CALL_REQUIRED_SECTIONS:
        if required not in names:
            yield whole(script.path, "missing-section", f"needs a [{required}] section")
    yield from _opening_findings(script.path, script.text, pattern)
    if script.name == S11_SCRIPT:
        yield from _s11_findings(script)


def _s11_findings(script: Script) -> Iterator[Finding]:
    """S11: the resources-only call says nothing of the program, the participant, his file or
    anyone who works with him. Lines for the liaison ("> ...") are not spoken."""
    spoken = "\n".join(
        "" if line.lstrip().startswith(">") else line for line in _blank(script.text).splitlines()
    )
    for hit in rules.find_terms(spoken, _S11_PATTERN):
        yield Finding(script.path, hit.line, "s11-names-the-case", hit.detail)


def _opening_findings(path: str, text: str, pattern: re.Pattern[str]) -> Iterator[Finding]:
    for name, first_line, body in sections(text):
        if name not in CALL_OPENING:
            continue
        # S6: the program is named only once the person said it is safe to talk.
        for number, line in enumerate(body.splitlines(), start=first_line):
            for placeholder in PLACEHOLDER.findall(line):
                if placeholder not in NEUTRAL_PLACEHOLDERS:
                    message = f"{{{placeholder}}} before the person said it is safe"
                    yield Finding(path, number, "named-before-safe", message)
        yield from _neutral_findings(path, "call", _blank(body), pattern, first_line)


def check_neutral_text(
    text: str, *, kind: str = "sms", extra_terms: Iterable[str] = ()
) -> list[Finding]:
    """Lint a text that is not in the library (a sender name, a return address) as neutral."""
    pattern = rules.term_pattern(rules.identifying_terms(extra_terms))
    return sorted(set(_neutral_findings("<text>", kind, text, pattern)))


# --- approving ---------------------------------------------------------------------------


def approve_library(root: Path) -> list[Finding]:
    """Record every text's checksum in the manifest, unless a safety finding blocks it.

    Returns the blocking findings; an empty list means the manifest was rewritten. Only the
    manifest-side rules (APPROVAL_RULES) are resolved by approving: a text that breaks a
    safety rule can never be approved.
    """
    blocking = [f for f in lint_library(root) if f.rule not in APPROVAL_RULES]
    if blocking:
        return blocking
    library = load_library(root)
    entries = {s.path: approval_for(s) for s in library.scripts.values()}
    (root / MANIFEST).write_text(manifest_toml(entries), encoding="utf-8")
    return []


# --- rendering ---------------------------------------------------------------------------


def render(
    library: ScriptLibrary,
    kind: str,
    name: str,
    language: str,
    values: Mapping[str, str],
    *,
    forbidden: Iterable[str] = (),
) -> str:
    """Fill an approved script with values, then lint the result; raise RenderError if unsafe.

    `forbidden` adds words the result must not contain on top of the built-in and local
    lists: pass the program's own name and key so a neutral text can never carry them.
    """
    script = _approved_script(library, kind, name, language)
    _raise_if(list(_value_findings(script, values)))
    text = PLACEHOLDER.sub(lambda m: values[m.group(1)], script.text).strip()
    pattern = rules.term_pattern(rules.identifying_terms((*library.extra_terms, *forbidden)))
    _raise_if(list(_rendered_findings(script, text, pattern)))
    return text


def _approved_script(library: ScriptLibrary, kind: str, name: str, language: str) -> Script:
    path = f"{language}/{kind}/{name}.txt"
    if language not in LANGUAGES:
        raise RenderError([whole(path, "unknown-language", f"languages are {LANGUAGES}")])
    script = library.get(kind, name, language)
    if script is None:
        raise RenderError([whole(path, "missing-script", f"S12: no {language} text")])
    if not script.approved:
        raise RenderError([whole(path, "changed-since-approval", "not approved as it stands")])
    return script


def _value_findings(script: Script, values: Mapping[str, str]) -> Iterator[Finding]:
    declared = script.approval.placeholders if script.approval else frozenset()
    for key in sorted(set(values) - script.permitted):
        yield whole(script.path, "placeholder-not-allowed", f"{{{key}}} may not be used here")
    for key in sorted(set(PLACEHOLDER.findall(script.text))):
        value = values.get(key)
        if key not in declared or key not in script.permitted:
            yield whole(script.path, "placeholder-not-declared", f"{{{key}}} is not approved")
        elif value is None or not value.strip():
            yield whole(script.path, "missing-value", f"no value for {{{key}}}")
        elif _has_control(value, multiline=_multiline(script, key)):
            yield whole(script.path, "control-character", f"{{{key}}} has control characters")


def _multiline(script: Script, key: str) -> bool:
    return key in MULTILINE_PLACEHOLDERS and not script.neutral


def _has_control(value: str, *, multiline: bool) -> bool:
    # Invisible characters could hide a word from the lint; line breaks could fake a message.
    allowed = {"\n"} if multiline else set()
    return any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in value)


def _rendered_findings(script: Script, text: str, pattern: re.Pattern[str]) -> Iterator[Finding]:
    if script.neutral:
        yield from _neutral_findings(script.path, script.kind, text, pattern)
    if script.kind == "sms":
        yield from _sms_size_findings(script.path, text)
    if script.kind == "call":
        yield from _opening_findings(script.path, text, pattern)


def _raise_if(findings: list[Finding]) -> None:
    if findings:
        raise RenderError(sorted(set(findings)))
