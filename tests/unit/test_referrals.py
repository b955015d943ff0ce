"""Referrals as data (PRODUCT.md "Referrals are data, per program ... scripts name them, never
invent them"; issue 20 item 10): the lists load, speak her language, ship fictional in the
demo, and a profile without one fails the check naming the program and the file."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from outreach.cli.setup import lint_scripts_command
from outreach.domain import referrals
from outreach.domain.attempt_rules import why_not_completed
from outreach.domain.protocols.loading import load_profile, load_profiles
from outreach.domain.vocabulary import Outcome, TaskReason
from outreach.services.intake import referrals as referral_service
from outreach.services.intake.programs import PROTOCOLS_DIR

SHIPPED = referral_service.REFERRALS_DIR
WORDS = tomllib.loads(referral_service.CALL_VALUES.read_text(encoding="utf-8"))
HOTLINE = "1-800-799-7233"  # the real National Domestic Violence Hotline


def test_every_shipped_profile_has_a_referral_list_that_loads() -> None:
    # PRODUCT.md: the local domestic violence program, legal services, victim-witness, the
    # national hotline; seeds/004 (ADA): the local shelter.
    assert referral_service.check_profiles() == []
    for profile in load_profiles(PROTOCOLS_DIR):
        found = referrals.load_referrals(SHIPPED / f"{profile}.toml")
        assert set(found.entries) == set(referrals.KINDS)


def test_the_demo_lists_are_fictional_but_the_national_hotline_is_real() -> None:
    # Brief: "clearly fictional names and 555 numbers, except the real national hotline".
    for path in SHIPPED.glob("*.toml"):
        entries = referrals.load_referrals(path).entries
        assert entries["hotline"].number == HOTLINE
        for kind, entry in entries.items():
            if kind == "hotline":
                continue
            assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", entry.number), (path.name, kind)
            assert entry.name["en"].endswith("(example)"), (path.name, kind)
            assert entry.name["es"].endswith(("(example)", "(ejemplo)")), (path.name, kind)


@pytest.mark.parametrize(
    ("language", "label", "emergency", "spoken"),
    [
        ("en", "Legal services", "call 911", "English and Spanish"),
        ("es", "Servicios legales", "llame al 911", "inglés y español"),
    ],
)
def test_the_list_is_read_in_her_language(
    language: str, label: str, emergency: str, spoken: str
) -> None:
    # S12: the contact person's language is used everywhere.
    found = referrals.load_referrals(SHIPPED / "pcadv.toml")
    values = referrals.script_values(found, language, WORDS[language]["referrals"])

    assert set(values) == {"resources", *referrals.KINDS}
    lines = values["resources"].splitlines()
    assert len(lines) == len(referrals.KINDS) + 1
    assert lines[1].startswith(
        f"- {label}: Sample River County Legal Aid (example), (412) 555-0142"
    )
    assert emergency in lines[-1]
    assert HOTLINE in values["hotline"]
    assert spoken in values["dv_program"]
    assert all("\n" not in values[kind] for kind in referrals.KINDS)


def test_a_victim_witness_office_may_have_a_name_in_each_language() -> None:
    found = referrals.load_referrals(SHIPPED / "pcadv.toml").entries["victim_witness"]
    assert found.name["es"].startswith("Asistencia a Víctimas y Testigos")
    assert found.name["en"].endswith("Victim-Witness Assistance (example)")


def test_a_profile_without_a_list_fails_naming_the_program_and_the_file(tmp_path: Path) -> None:
    problems = referrals.check_profiles(tmp_path, ["pcadv"])
    assert problems == [
        f"config/{tmp_path.name}/pcadv.toml: missing-referrals: programs on protocol 'pcadv' "
        "have no referral list; add one naming "
        "dv_program, legal_services, victim_witness, shelter, hotline"
    ]


def test_a_program_finds_its_own_list_before_its_profiles_and_is_told_what_to_add(
    tmp_path: Path,
) -> None:
    shutil.copy(SHIPPED / "georgia_fvip.toml", tmp_path / "georgia_fvip.toml")
    shutil.copy(SHIPPED / "pcadv.toml", tmp_path / "caminar.toml")

    assert referrals.find_list(tmp_path, "caminar", "georgia_fvip").name == "caminar.toml"
    assert referrals.find_list(tmp_path, "north", "georgia_fvip").name == "georgia_fvip.toml"
    with pytest.raises(referrals.ReferralError) as refused:
        referrals.find_list(tmp_path, "lakeside", "emerge")
    assert "program 'lakeside' (protocol 'emerge') has no referral list" in str(refused.value)
    assert f"add {tmp_path.name}/emerge.toml" in str(refused.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("[shelter]", "[shelterx]"), "unknown entry 'shelterx'"),
        (lambda t: t.replace('number = "(412) 555-0141"', 'number = "ask around"'), "number"),
        (lambda t: t.replace('hours.es = "las 24 horas"\n', ""), "hours needs one line"),
        (lambda t: t.replace('languages = ["en"]', 'languages = ["fr"]'), "languages"),
    ],
)
def test_a_malformed_list_is_refused_naming_the_file_and_entry(
    tmp_path: Path, change: object, message: str
) -> None:
    text = (SHIPPED / "pcadv.toml").read_text(encoding="utf-8")
    path = tmp_path / "pcadv.toml"
    path.write_text(change(text), encoding="utf-8")  # type: ignore[operator]

    with pytest.raises(referrals.ReferralError) as refused:
        referrals.load_referrals(path)
    assert str(refused.value).startswith("pcadv.toml: ")
    assert message in str(refused.value)


def test_lint_scripts_fails_while_a_profile_has_no_referral_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check staff run before any script is used (scripts_text/README.md).
    for path in SHIPPED.glob("*.toml"):
        if path.stem != "ny_opdv":
            shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(referral_service, "REFERRALS_DIR", tmp_path)

    result = CliRunner().invoke(lint_scripts_command, [])

    assert result.exit_code != 0
    assert "ny_opdv.toml: missing-referrals: programs on protocol 'ny_opdv'" in result.output


def test_lint_scripts_passes_with_every_list_in_place() -> None:
    result = CliRunner().invoke(lint_scripts_command, [])
    assert result.exit_code == 0, result.output


def test_pcadv_reads_her_rights_and_ny_opdv_hands_safety_concerns_to_victim_services() -> None:
    # seeds/004 item 2 (PCADV); seeds/000 (NY OPDV).
    pcadv = load_profile(PROTOCOLS_DIR / "pcadv.toml")
    ny = load_profile(PROTOCOLS_DIR / "ny_opdv.toml")
    georgia = load_profile(PROTOCOLS_DIR / "georgia_fvip.toml")
    ada = load_profile(PROTOCOLS_DIR / "no_contact.toml")
    assert (ada.partner_contact, ada.victim_services_referral) == (False, True)
    assert (pcadv.rights_statement, pcadv.victim_services_referral) == (True, False)
    assert (ny.rights_statement, ny.victim_services_referral) == (False, True)
    assert (georgia.rights_statement, georgia.victim_services_referral) == (False, False)


class _Made:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome, self.channel = outcome.value, "voice"


def test_a_referral_handles_a_safety_concern_and_nothing_else() -> None:
    # seeds/000: "in conjunction with a victim services program".
    referred = [_Made(Outcome.REFERRED_TO_VICTIM_SERVICES)]
    assert why_not_completed(TaskReason.SAFETY_CONCERN, referred) is None  # type: ignore[arg-type]
    assert why_not_completed(TaskReason.INTAKE, referred) is not None  # type: ignore[arg-type]


def test_start_up_stops_while_a_profile_has_no_referral_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check at start: no program runs with scripts that would name nobody.
    from outreach import _load_profiles
    from outreach.settings_error import SettingsError

    for path in SHIPPED.glob("*.toml"):
        if path.stem != "pcadv":
            shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(referral_service, "REFERRALS_DIR", tmp_path)

    with pytest.raises(SettingsError) as refused:
        _load_profiles()
    assert "pcadv.toml: missing-referrals" in str(refused.value)
