"""The approved-scripts library on disk: its layout, the manifest of approvals, and loading.

`outreach.domain.scripts` lints, approves and renders what this module loads; the rules
and the workflow are described in `scripts_text/README.md`.
"""

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from outreach.domain.referrals import KINDS as REFERRAL_KINDS
from outreach.domain.vocabulary import LANGUAGES, TaskReason

MANIFEST = "manifest.toml"
DENYLIST = "denylist.toml"

KINDS = ("call", "sms", "voicemail", "voice", "mail")
NEUTRAL_KINDS = frozenset({"sms", "voicemail", "voice"})
NEUTRAL_NAMES = frozenset({("mail", "envelope")})  # the outside of a letter is neutral too
# Prompts said the moment a phone answers, before anyone has pressed a key: a voicemail may be
# recording them, so they name no one (S3; issue 24: a key-press screen before anything
# personal is said).
BEFORE_A_KEY = frozenset(
    {("voice", "screen_prompt"), ("voice", "bridge_confirm_prompt"), ("voice", "incoming_call")}
)

NEUTRAL_PLACEHOLDERS = frozenset({"first_name", "liaison_first_name"})
KIND_PLACEHOLDERS: dict[str, frozenset[str]] = {
    # The program's referrals by name (config/referrals/, domain/referrals.py): "scripts name
    # them, never invent them" (PRODUCT.md).
    "call": NEUTRAL_PLACEHOLDERS
    | {"program_name", "participant_status", "resources"}
    | frozenset(REFERRAL_KINDS),
    "mail": NEUTRAL_PLACEHOLDERS | {"program_name", "date", "resources"},
    "sms": NEUTRAL_PLACEHOLDERS,
    "voicemail": NEUTRAL_PLACEHOLDERS,
    "voice": NEUTRAL_PLACEHOLDERS,
}

_LETTERS = frozenset({TaskReason.COMPLETION_LETTER, TaskReason.TERMINATION_LETTER})
REQUIRED_SCRIPTS: dict[str, tuple[str, ...]] = {
    "call": tuple(reason.value for reason in TaskReason if reason not in _LETTERS),
    "sms": (
        "reminder",
        "safe_check",
        "help",
        "stop_confirmation",
        "start_confirmation",
        "on_call_notice",  # S8: to the on-call supervisor's own phone, never to her
        "check_in",
    ),
    "voicemail": ("neutral",),
    "voice": ("safe_check_prompt", "screen_prompt", "bridge_confirm_prompt", "incoming_call"),
    "mail": (TaskReason.COMPLETION_LETTER.value, TaskReason.TERMINATION_LETTER.value, "envelope"),
}

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
SECTION = re.compile(r"^\[([a-z][a-z0-9-]*)\]\s*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, order=True)
class Finding:
    """One lint problem: where, which rule, and what. Never holds contact data."""

    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class Approval:
    """What the manifest records about one approved text."""

    kind: str
    language: str
    neutral: bool
    placeholders: frozenset[str]
    sha256: str


@dataclass(frozen=True)
class Script:
    """One text file of the library, with its approval if the manifest has one."""

    path: str
    language: str
    kind: str
    name: str
    text: str
    sha256: str
    approval: Approval | None

    @property
    def neutral(self) -> bool:
        # The kind decides; the manifest can only make a text stricter, never looser.
        required = self.kind in NEUTRAL_KINDS or (self.kind, self.name) in NEUTRAL_NAMES
        return required or (self.approval is not None and self.approval.neutral)

    @property
    def permitted(self) -> frozenset[str]:
        return NEUTRAL_PLACEHOLDERS if self.neutral else KIND_PLACEHOLDERS[self.kind]

    @property
    def approved(self) -> bool:
        return self.approval is not None and self.approval.sha256 == self.sha256


@dataclass(frozen=True)
class ScriptLibrary:
    """Every text under one root, keyed by (kind, name, language)."""

    root: Path
    scripts: Mapping[tuple[str, str, str], Script]
    approvals: Mapping[str, Approval]
    extra_terms: tuple[str, ...] = ()
    problems: tuple[Finding, ...] = ()

    def get(self, kind: str, name: str, language: str) -> Script | None:
        return self.scripts.get((kind, name, language))


class ScriptLibraryError(Exception):
    """The manifest or the local word list cannot be read at all."""


class RenderError(Exception):
    """`render` refused: the findings say why, without repeating any value."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("; ".join(str(f) for f in findings))


# --- loading -----------------------------------------------------------------------------


def default_root() -> Path:
    """Return the `scripts_text/` directory of this checkout."""
    return Path(__file__).resolve().parents[2] / "scripts_text"


def load_library(root: Path) -> ScriptLibrary:
    """Read every text, the manifest and the local word list under root (no linting)."""
    approvals, problems = _read_manifest(root / MANIFEST)
    scripts: dict[tuple[str, str, str], Script] = {}
    for path in sorted(root.rglob("*.txt")):
        script, problem = _read_script(root, path, approvals)
        if script is not None:
            scripts[(script.kind, script.name, script.language)] = script
        problems.extend(problem)
    return ScriptLibrary(
        root, scripts, approvals, _read_extra_terms(root / DENYLIST), tuple(problems)
    )


def _read_script(
    root: Path, path: Path, approvals: Mapping[str, Approval]
) -> tuple[Script | None, list[Finding]]:
    rel = path.relative_to(root).as_posix()
    parts = rel.removesuffix(".txt").split("/")
    if len(parts) != 3 or parts[0] not in LANGUAGES or parts[1] not in KINDS:
        return None, [whole(rel, "bad-path", "expected <language>/<kind>/<name>.txt")]
    if not _NAME.match(parts[2]):
        return None, [whole(rel, "bad-path", "names are lower-case words joined by _")]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, [whole(rel, "not-utf8", "texts must be saved as UTF-8")]
    digest = hashlib.sha256(raw).hexdigest()
    return Script(rel, parts[0], parts[1], parts[2], text, digest, approvals.get(rel)), []


def _read_manifest(path: Path) -> tuple[dict[str, Approval], list[Finding]]:
    if not path.exists():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScriptLibraryError(f"{MANIFEST} cannot be read: {exc}") from exc
    approvals: dict[str, Approval] = {}
    problems: list[Finding] = []
    for rel, entry in data.get("scripts", {}).items():
        approval = _parse_approval(entry)
        if approval is None:
            problems.append(whole(MANIFEST, "manifest-invalid", f"entry {rel!r} is malformed"))
        else:
            approvals[rel] = approval
    return approvals, problems


def _parse_approval(entry: object) -> Approval | None:
    if not isinstance(entry, dict):
        return None
    kind, language, neutral = entry.get("kind"), entry.get("language"), entry.get("neutral")
    placeholders, digest = entry.get("placeholders"), entry.get("sha256")
    if not (isinstance(kind, str) and isinstance(language, str) and isinstance(neutral, bool)):
        return None
    if not (isinstance(placeholders, list) and all(isinstance(p, str) for p in placeholders)):
        return None
    if not isinstance(digest, str):
        return None
    return Approval(kind, language, neutral, frozenset(placeholders), digest)


def _read_extra_terms(path: Path) -> tuple[str, ...]:
    if not path.exists():
        return ()
    try:
        terms = tomllib.loads(path.read_text(encoding="utf-8")).get("terms", [])
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScriptLibraryError(f"{DENYLIST} cannot be read: {exc}") from exc
    if not (isinstance(terms, list) and all(isinstance(t, str) for t in terms)):
        raise ScriptLibraryError(f"{DENYLIST}: `terms` must be a list of strings")
    return tuple(terms)


def has_text_before_first_section(text: str) -> bool:
    """Return whether anything but blank lines comes before the first [section] line."""
    for line in text.splitlines():
        if SECTION.match(line):
            return False
        if line.strip():
            return True
    return False


def sections(text: str) -> list[tuple[str, int, str]]:
    """Split a call script into (section name, first body line number, body) in order."""
    found: list[tuple[str, int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = SECTION.match(line)
        if match:
            found.append((match.group(1), number + 1, []))
        elif found:
            found[-1][2].append(line)
    return [(name, first, "\n".join(body)) for name, first, body in found]


def approval_for(script: Script) -> Approval:
    """Return the manifest entry that approves the script exactly as it stands."""
    used = frozenset(PLACEHOLDER.findall(script.text))
    return Approval(script.kind, script.language, script.neutral, used, script.sha256)


def manifest_toml(entries: Mapping[str, Approval]) -> str:
    """Return the manifest text for these approvals, sorted so diffs stay small."""
    lines = [
        "# Approved scripts. Written by `outreach lint-scripts --approve`; do not edit the",
        "# checksums by hand (see scripts_text/README.md).",
    ]
    for rel in sorted(entries):
        entry = entries[rel]
        placeholders = ", ".join(f'"{p}"' for p in sorted(entry.placeholders))
        lines += [
            "",
            f'[scripts."{rel}"]',
            f'kind = "{entry.kind}"',
            f'language = "{entry.language}"',
            f"neutral = {'true' if entry.neutral else 'false'}",
            f"placeholders = [{placeholders}]",
            f'sha256 = "{entry.sha256}"',
        ]
    return "\n".join(lines) + "\n"


def whole(path: str, rule: str, message: str) -> Finding:
    """Return a finding about a whole file (line 0)."""
    return Finding(path, 0, rule, message)
