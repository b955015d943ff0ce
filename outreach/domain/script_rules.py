"""Text rules for neutral messages: identifying words, web addresses, phone numbers, SMS size.

Pure functions over plain strings; `outreach.domain.scripts` applies them to the library
and to every rendered message. Assume the person who harms the contact reads every text
and hears every voicemail (REFERENCE.md B.7, B.8), so a neutral text must not name an
agency, a program, a participant, a reason or abuse (S2, S3, S9).
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Whole words or phrases, matched case- and accent-insensitively. Every language's list is
# applied to every neutral text: households are often bilingual, and a value such as a first
# name may be written in either language.
IDENTIFYING_TERMS: dict[str, tuple[str, ...]] = {
    "en": (
        "program",
        "programs",
        "programme",
        "programmes",
        "class",
        "classes",
        "group",
        "groups",
        "court",
        "courts",
        "judge",
        "probation",
        "parole",
        "abuse",
        "abused",
        "abusive",
        "abuser",
        "abusers",
        "violence",
        "violent",
        "batterer",
        "batterers",
        "battering",
        "battered",
        "domestic",
        "intervention",
        "victim",
        "victims",
        "survivor",
        "survivors",
        "advocate",
        "advocates",
        "advocacy",
        "liaison",
        "counseling",
        "counselling",
        "counselor",
        "counsellor",
        "therapy",
        "treatment",
        "shelter",
        "shelters",
        "partner",
        "partners",
        "ex-partner",
        "participant",
        "participants",
        "protective order",
        "restraining order",
        "no-contact order",
        "police",
        "arrest",
        "jail",
        "safety",
        "safety plan",
        "safety planning",
        "hotline",
        "crisis",
        "threat",
        "assault",
        "offender",
        "perpetrator",
    ),
    "es": (
        "programa",
        "programas",
        "clase",
        "clases",
        "grupo",
        "grupos",
        "tribunal",
        "tribunales",
        "corte",
        "cortes",
        "juez",
        "jueza",
        "libertad condicional",
        "libertad vigilada",
        "abuso",
        "abusos",
        "abusivo",
        "abusador",
        "abusadora",
        "violencia",
        "violento",
        "violenta",
        "maltrato",
        "maltratador",
        "maltratadora",
        "agresor",
        "agresora",
        "victima",
        "victimas",
        "sobreviviente",
        "sobrevivientes",
        "intercesora",
        "intercesor",
        "defensora",
        "intervencion",
        "refugio",
        "albergue",
        "pareja",
        "expareja",
        "ex pareja",
        "participante",
        "participantes",
        "orden de proteccion",
        "orden de alejamiento",
        "orden de restriccion",
        "policia",
        "arresto",
        "carcel",
        "seguridad",
        "plan de seguridad",
        "consejeria",
        "terapia",
        "tratamiento",
        "linea de crisis",
        "amenaza",
        "agresion",
    ),
    # Agency, program and statute names from the seed documents; local names go in
    # scripts_text/denylist.toml so a program can add its own without a code change.
    "names": (
        "dv",
        "ipv",
        "fvip",
        "bip",
        "bipp",
        "apip",
        "apips",
        "emerge",
        "caring dads",
        "men stopping violence",
        "msv",
        "wrcdv",
        "caminar latino",
        "pcadv",
        "dvomb",
        "opdv",
        "vawa",
    ),
}

# GSM 03.38 basic set and its extension table (an extension character costs two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# Two concatenated segments: 2 x 153 septets (GSM-7) or 2 x 67 UTF-16 units (UCS-2).
SMS_MAX_GSM7_SEPTETS = 306
SMS_MAX_UCS2_UNITS = 134

_LETTER = r"[^\W\d_]"
_NON_LETTERS = r"[\W\d_]+"
_URL = re.compile(
    r"[a-z][a-z0-9+.\-]*://|www\.|[a-z0-9\-]+(?:\.[a-z0-9\-]+)*"
    r"\.(?:com|org|net|gov|edu|info|io|us|ly|co|me|app|link|site|page|es|mx)(?![a-z0-9])"
)
# Three or more digits joined only by phone-style separators: "555-0143", "(202) 555",
# "+1 202". A lone "1" or "2" ("Reply 1", "press 2") stays allowed.
_PHONE = re.compile(r"\d(?:[\s().\-/+]*\d){2,}")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Hit:
    """One rule match in a text: which line, and a description safe to log."""

    line: int
    detail: str


@dataclass(frozen=True)
class _Folded:
    """A text folded for matching, with the original line number of every folded character."""

    text: str
    lines: tuple[int, ...]

    def line_at(self, index: int) -> int:
        return (
            self.lines[index] if index < len(self.lines) else (self.lines[-1] if self.lines else 1)
        )


def fold(text: str) -> str:
    """Return text lower-cased, with accents, compatibility forms and invisible characters gone."""
    return _fold(text).text


def _fold(text: str) -> _Folded:
    # Character by character so each match maps back to its line. NFKD turns full-width and
    # styled letters into plain ones; dropping marks (Mn) and format characters (Cf, e.g.
    # zero-width spaces) stops "víctima" or "pro\u200bgram" slipping past the word list.
    out: list[str] = []
    lines: list[int] = []
    line = 1
    for char in text:
        for part in unicodedata.normalize("NFKD", char.casefold()):
            if unicodedata.category(part) not in ("Mn", "Cf"):
                out.append(part)
                lines.append(line)
        if char == "\n":
            line += 1
    return _Folded("".join(out), tuple(lines))


# S11: when the participant may be the victim, the person called may be the one who harms
# him. The resources-only call offers resources and nothing else: what is said names no
# program, no participant, no file, nobody who works with him, nor that anyone is in a
# group or before a court (PRODUCT.md S11; issue 19). Whole words, English and Spanish.
S11_FORBIDDEN_TERMS = (
    "program", "programs", "programme", "programa", "programas",
    "participant", "participants", "participante", "participantes",
    "partner", "partners", "former partner", "pareja", "expareja", "ex pareja",
    "file", "files", "record", "records", "expediente", "expedientes", "registro",
    "staff", "personal", "work with them", "works with them", "trabaja con esa persona",
    "group", "groups", "grupo", "grupos", "class", "classes", "clase", "clases",
    "court", "tribunal", "juzgado", "enrolled", "inscrito",
)  # fmt: skip


def term_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """Compile whole-word matching for terms, the words of a phrase split by any non-letters.

    "protective order", "protective-order" and "protective\norder" all match, so a line
    break, a hyphen or a digit between the words cannot hide a phrase.
    """
    phrases = {tuple(re.findall(f"{_LETTER}+", fold(term))) for term in terms}
    ordered = sorted((p for p in phrases if p), key=lambda p: (-len("".join(p)), p))
    alternatives = [_NON_LETTERS.join(re.escape(word) for word in p) for p in ordered]
    body = "|".join(alternatives) or r"(?!x)x"
    return re.compile(rf"(?<!{_LETTER})(?:{body})(?!{_LETTER})")


def identifying_terms(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Return every built-in identifying term plus the extra local ones."""
    builtin = (term for terms in IDENTIFYING_TERMS.values() for term in terms)
    return (*builtin, *extra)


def find_terms(text: str, pattern: re.Pattern[str]) -> Iterator[Hit]:
    """Yield each identifying word or phrase in text."""
    folded = _fold(text)
    for match in pattern.finditer(folded.text):
        # Name the listed term, not the matched characters, which may come from a value.
        term = " ".join(re.findall(f"{_LETTER}+", match.group()))
        yield Hit(folded.line_at(match.start()), f"identifying word {term!r}")


def find_urls(text: str) -> Iterator[Hit]:
    """Yield each web address or domain in text (the match itself is not repeated)."""
    folded = _fold(text)
    for match in _URL.finditer(folded.text):
        yield Hit(folded.line_at(match.start()), "web address or domain")


def find_phone_numbers(text: str) -> Iterator[Hit]:
    """Yield each digit run that could be a callback number."""
    folded = _fold(text)
    for match in _PHONE.finditer(folded.text):
        yield Hit(folded.line_at(match.start()), "digit sequence that looks like a phone number")


def find_digits(text: str) -> Iterator[Hit]:
    """Yield each line that holds any digit at all."""
    folded = _fold(text)
    seen: set[int] = set()
    for match in _DIGIT.finditer(folded.text):
        line = folded.line_at(match.start())
        if line not in seen:
            seen.add(line)
            yield Hit(line, "digit")


def is_gsm7(text: str) -> bool:
    """Return whether text can be sent in the GSM-7 alphabet."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def sms_size(text: str) -> tuple[str, int, int]:
    """Return (encoding, size in that encoding's units, the two-segment limit) for an SMS body."""
    if is_gsm7(text):
        septets = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        return "GSM-7", septets, SMS_MAX_GSM7_SEPTETS
    # UCS-2 on the wire is UTF-16: a character outside the BMP (an emoji) takes two units.
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    return "UCS-2", units, SMS_MAX_UCS2_UNITS
