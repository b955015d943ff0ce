"""A program's referrals and language, as its scripts and screens need them.

PRODUCT.md "Referrals are data, per program (`config/`) ... scripts name them, never invent
them" (domain/referrals.py); S12 "a Spanish-first program makes Spanish the default for its
contacts and its staff screens" (`program_language`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from outreach.domain import referrals
from outreach.domain.protocols.loading import load_profile
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import LANGUAGES, TaskReason
from outreach.models import Program
from outreach.settings import PROJECT_ROOT

REFERRALS_DIR = PROJECT_ROOT / "config" / "referrals"
CALL_VALUES = PROJECT_ROOT / "config" / "call_values.toml"
PROTOCOLS_DIR = PROJECT_ROOT / "config" / "protocols"


def script_values(program: Program, language: str) -> dict[str, str]:
    """The referral variables of a call script or letter in her language: {resources} (the
    whole list, ending with the emergency line) and one per place ({dv_program},
    {legal_services}, {victim_witness}, {shelter}, {hotline}).

    Raises referrals.ReferralError when the program has no list: the caller shows no script
    rather than one naming places nobody checked."""
    path = referrals.find_list(REFERRALS_DIR, program.key, program.protocol)
    return referrals.script_values(_list(path), language, _words()[language]["referrals"])


def check_profiles(profile_keys: list[str] | None = None) -> list[str]:
    """Every protocol profile's missing or malformed referral list, one line each (for
    `outreach lint-scripts` and start-up)."""
    keys = profile_keys if profile_keys is not None else _profile_keys()
    return referrals.check_profiles(REFERRALS_DIR, keys)


def program_language(program: Program, profiles: Mapping[str, Profile] | None = None) -> str:
    """S12: the language a program's new contacts, letters and staff screens start in: its own
    setting (`program.language`, e.g. Caminar Latino's "es" on the Georgia profile), else its
    protocol profile's `language`, else English."""
    if program.language in LANGUAGES:
        return program.language
    profile = (profiles or {}).get(program.protocol) or _profile(program.protocol)
    return profile.language if profile is not None else "en"


def referral_on(program: Program, reason: str) -> bool:
    """Whether a referral to the victim services program may be recorded on a task for
    `reason`, where the program's protocol says so (`victim_services_referral`): on a safety
    concern, which it handles (NY OPDV, seeds/000 "in conjunction with a victim services
    program"); in a no-contact program, on the duty to warn, the one call there is (ADA,
    seeds/004 "offer her the resource of the local Battered Women's Service Organization")."""
    profile = _profile(program.protocol)
    if profile is None or not profile.victim_services_referral:
        return False
    if reason == TaskReason.SAFETY_CONCERN:
        return True
    return reason == TaskReason.DUTY_TO_WARN and not profile.partner_contact


@lru_cache(maxsize=32)
def _list(path: Path) -> referrals.ReferralList:
    return referrals.load_referrals(path)


@lru_cache(maxsize=1)
def _words() -> dict[str, Any]:
    with CALL_VALUES.open("rb") as handle:
        return tomllib.load(handle)


@lru_cache(maxsize=16)
def _profile(key: str) -> Profile | None:
    path = PROTOCOLS_DIR / f"{key}.toml"
    return load_profile(path) if path.is_file() else None


def _profile_keys() -> list[str]:
    return sorted(path.stem for path in PROTOCOLS_DIR.glob("*.toml"))
