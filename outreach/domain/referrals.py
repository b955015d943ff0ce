"""Referrals as data: the places a program refers a contact to, named in her language.

PRODUCT.md: "Referrals are data, per program (`config/`): the local domestic violence
program, legal services, victim-witness, the national hotline; scripts name them, never
invent them." seeds/004 (PCADV) item 3: "Giving informed referrals to partners to domestic
violence programs, victim-witness assistance and legal services"; seeds/000 (NY OPDV):
safety concerns handled "in conjunction with a victim services program"; seeds/004 (ADA):
"offer her the resource of the local Battered Women's Service Organization".

One file per program or per protocol profile, `config/referrals/<name>.toml` (format:
config/referrals/README.md). A program with no list fails the check (`outreach lint-scripts`
and start-up) naming the program and the file it needs: a liaison must never be left to
improvise a number on a call.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach.domain.vocabulary import LANGUAGES

# The places every list names, in the order the call script reads them. Each is also a
# script variable ({dv_program}, {legal_services}, ...) for a script that names one.
KINDS = ("dv_program", "legal_services", "victim_witness", "shelter", "hotline")
_ENTRY_KEYS = frozenset({"name", "number", "hours", "languages"})
# A number as people write it: digits with spaces, dots, dashes, brackets, a leading +.
_NUMBER = re.compile(r"\+?[0-9(][0-9 ().-]{2,30}[0-9]")


class ReferralError(ValueError):
    """A referral list is missing or malformed; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class Referral:
    """One place she may be referred to, with its words in every language (S12)."""

    kind: str
    name: Mapping[str, str]
    number: str
    hours: Mapping[str, str]
    languages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReferralList:
    """A program's referrals, one per kind."""

    source: str
    entries: Mapping[str, Referral]


def load_referrals(path: Path) -> ReferralList:
    """Read and check one referral list; raise ReferralError naming the file and reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferralError(f"{path.name}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReferralError(f"{path.name}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(KINDS))
    if unknown:
        raise ReferralError(
            f"{path.name}: unknown entry {unknown[0]!r} (known: {', '.join(KINDS)})"
        )
    missing = [kind for kind in KINDS if kind not in data]
    if missing:
        raise ReferralError(f"{path.name}: [{missing[0]}] is missing; every list names {_kinds()}")
    entries = {kind: _entry(path.name, kind, data[kind]) for kind in KINDS}
    return ReferralList(path.name, entries)


def find_list(directory: Path, program_key: str, profile_key: str) -> Path:
    """The file a program's referrals come from: its own, else its protocol profile's."""
    for name in (program_key, profile_key):
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise ReferralError(
        f"program {program_key!r} (protocol {profile_key!r}) has no referral list: "
        f"add {directory.name}/{profile_key}.toml (or {directory.name}/{program_key}.toml) "
        f"naming {_kinds()}"
    )


def check_profiles(directory: Path, profile_keys: Iterable[str]) -> list[str]:
    """Every problem with the referral lists the protocol profiles need, as one line each."""
    problems = []
    for key in sorted(profile_keys):
        path = directory / f"{key}.toml"
        if not path.is_file():
            problems.append(
                f"config/{directory.name}/{key}.toml: missing-referrals: programs on protocol "
                f"{key!r} have no referral list; add one naming {_kinds()}"
            )
            continue
        try:
            load_referrals(path)
        except ReferralError as exc:
            problems.append(f"config/{directory.name}/{exc}")
    return problems


def script_values(
    referrals: ReferralList, language: str, words: Mapping[str, Any]
) -> dict[str, str]:
    """The script variables: {resources}, the whole list in her language, and one variable
    per place ({dv_program}, ...). `words` is the `[<language>.referrals]` wording of
    config/call_values.toml (labels, the line's shape, the emergency line)."""
    one = {kind: _one(entry, language, words) for kind, entry in referrals.entries.items()}
    lines = [
        str(words["line"]).format(label=words["labels"][kind], entry=one[kind]) for kind in KINDS
    ]
    lines.append(str(words["emergency"]))
    return {"resources": "\n".join(lines), **one}


def _one(entry: Referral, language: str, words: Mapping[str, Any]) -> str:
    spoken = [words["languages"][code] for code in entry.languages]
    return str(words["entry"]).format(
        name=entry.name[language],
        number=entry.number,
        hours=entry.hours[language],
        languages=str(words["and"]).join(spoken) if len(spoken) < 3 else ", ".join(spoken),
    )


def _entry(file: str, kind: str, raw: Any) -> Referral:
    where = f"{file}: [{kind}]"
    if not isinstance(raw, dict):
        raise ReferralError(f"{where} must be a table")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise ReferralError(
            f"{where} unknown key {unknown[0]!r} (known: name, number, hours, languages)"
        )
    number = raw.get("number")
    if not isinstance(number, str) or not _NUMBER.fullmatch(number.strip()):
        raise ReferralError(f'{where} number must be a phone number such as "(412) 555-0142"')
    return Referral(
        kind=kind,
        name=_worded(raw.get("name"), f"{where} name"),
        number=number.strip(),
        hours=_worded(raw.get("hours"), f"{where} hours"),
        languages=_languages(raw.get("languages"), f"{where} languages"),
    )


def _worded(raw: Any, where: str) -> dict[str, str]:
    # S12: one wording per language; a proper name may be given once for all of them.
    if isinstance(raw, str):
        raw = dict.fromkeys(LANGUAGES, raw)
    if not isinstance(raw, dict):
        raise ReferralError(f"{where} must be text, or a table with {' and '.join(LANGUAGES)}")
    for language in LANGUAGES:
        value = raw.get(language)
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise ReferralError(f"{where} needs one line of text in {language!r}")
    return {language: raw[language].strip() for language in LANGUAGES}


def _languages(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or any(code not in LANGUAGES for code in raw):
        raise ReferralError(f"{where} must list the languages spoken there, from {list(LANGUAGES)}")
    return tuple(raw)


def _kinds() -> str:
    return ", ".join(KINDS)
