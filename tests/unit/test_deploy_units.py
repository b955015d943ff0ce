"""The systemd units of the production recipe (deploy/systemd, docs/operations.md) parse, run
commands that exist, and get every secret as a credential file, never inline.

An operator copies these files as they are: a unit naming a command that does not exist, or a
secret variable the product does not read, would be found at 3 a.m. on the day of a restore.
So each unit's environment is loaded here as the product loads it, in production mode.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from flask import Flask
from gunicorn.config import Config
from sqlalchemy.engine import make_url

import outreach
from outreach import cli
from outreach.settings import PROJECT_ROOT, load_settings

UNITS = PROJECT_ROOT / "deploy" / "systemd"
INSTALLED = "/opt/outreach/current/"  # where the recipe puts a release (docs/operations.md)
SERVICES = sorted(UNITS.glob("*.service"))
TIMERS = sorted(UNITS.glob("*.timer"))
# Every secret the product reads, taken from the settings code itself.
SECRET_NAMES = frozenset(
    re.findall(
        r'(?:required|_read_secret)\((?:env, )?"([A-Z_]+)"\)',
        (PROJECT_ROOT / "outreach" / "settings_secrets.py").read_text(),
    )
)
LOOKS_SECRET = (
    re.compile(r"://[^/@:\s]+:[^@/\s]+@"),  # a password inside a URL
    re.compile(r"[A-Za-z0-9_-]{43}="),  # 32 bytes of key in base64
)

Unit = dict[str, list[tuple[str, str]]]


def parse(path: Path) -> Unit:
    """Sections of key=value lines, in order, keys repeated as systemd allows."""
    sections: Unit = defaultdict(list)
    current = None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if header:
            current = header.group(1)
            sections[current] = []
            continue
        key, sep, value = line.partition("=")
        assert current, f"{path.name}:{number} comes before any section"
        assert sep, f"{path.name}:{number} is not key=value"
        assert re.fullmatch(r"[A-Z][A-Za-z]+", key), f"{path.name}:{number} names no directive"
        sections[current].append((key, value))
    return dict(sections)


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {k: v for k, _, v in pairs if k and not k.startswith("#")}


def test_the_recipe_has_a_web_a_scheduler_a_migration_and_a_nightly_backup_unit() -> None:
    names = {p.name for p in (*SERVICES, *TIMERS)}
    assert {
        "outreach-web.service",
        "outreach-scheduler.service",
        "outreach-init.service",
        "outreach-backup.service",
        "outreach-backup.timer",
    } <= names
    assert {"OUTREACH_SECRET_KEY", "OUTREACH_DATA_KEYS", "TWILIO_AUTH_TOKEN"} <= SECRET_NAMES


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_a_service_has_its_three_sections_and_one_command(path: Path) -> None:
    unit = parse(path)
    assert set(unit) == {"Unit", "Service", "Install"}
    assert len(values(unit, "Service", "ExecStart")) == 1
    assert values(unit, "Service", "User") == ["outreach"], "never root"
    assert values(unit, "Service", "NoNewPrivileges") == ["yes"]


@pytest.mark.parametrize("path", TIMERS, ids=lambda p: p.name)
def test_a_timer_starts_a_service_of_the_recipe(path: Path) -> None:
    unit = parse(path)
    assert set(unit) == {"Unit", "Timer", "Install"}
    assert (UNITS / path.name.replace(".timer", ".service")).exists()
    assert values(unit, "Timer", "OnCalendar")


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_every_command_a_service_runs_exists_and_takes_its_arguments(path: Path) -> None:
    unit = parse(path)
    for line in values(unit, "Service", "ExecStart"):
        program, *args = shlex.split(line)
        assert program.startswith(INSTALLED + ".venv/bin/"), "the release's own virtualenv"
        name = Path(program).name
        assert (Path(sys.executable).parent / name).exists(), f"{name} is not installed"
        {"outreach": _outreach_accepts, "gunicorn": _gunicorn_accepts}[name](args)
    for line in values(unit, "Service", "ExecStartPost") + values(unit, "Unit", "Documentation"):
        for word in shlex.split(line):
            if INSTALLED in word:
                shipped = word.removeprefix("file://").removeprefix(INSTALLED)
                assert (PROJECT_ROOT / shipped).exists(), f"{path.name} names {word}"


def _outreach_accepts(args: list[str]) -> None:
    app = Flask("units")
    cli.register(app)
    group, words = app.cli, list(args)
    command = group.get_command(
        group.make_context("outreach", [], resilient_parsing=True), words[0]
    )
    assert command is not None, f"outreach has no command {words[0]}"
    # Parsing the arguments checks their number and names, as the real start would.
    command.make_context(words[0], words[1:])


def _gunicorn_accepts(args: list[str]) -> None:
    parsed = Config(prog="gunicorn").parser().parse_args(args)
    module, _, factory = parsed.args[0].partition(":")
    assert module == "outreach"
    assert factory == "create_app()"
    assert callable(outreach.create_app)


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_secrets_come_as_credentials_read_through_file_variables_never_inline(
    path: Path,
) -> None:
    unit = parse(path)
    credentials = {v.partition(":")[0] for v in values(unit, "Service", "LoadCredential")}
    for assignment in values(unit, "Service", "Environment"):
        name, _, value = assignment.partition("=")
        assert name not in SECRET_NAMES, f"{path.name} sets {name} inline"
        if name.endswith("FILE"):
            assert value.startswith("%d/"), "a file in the service's credentials directory"
            assert value.removeprefix("%d/") in credentials
    for text in (path.read_text(), *(p.read_text() for p in UNITS.glob("*.example"))):
        for pattern in LOOKS_SECRET:
            assert not pattern.search(text), f"something like a secret in {path.name}"
    for example in UNITS.glob("*.example"):
        assert not SECRET_NAMES & env_file(example).keys(), f"a secret in {example.name}"


@pytest.mark.parametrize(
    "path",
    [p for p in SERVICES if "OUTREACH_DATA_KEYS_FILE" in p.read_text()],
    ids=lambda p: p.name,
)
def test_a_service_environment_is_a_working_production_configuration(
    path: Path, tmp_path: Path
) -> None:
    unit = parse(path)
    environ: dict[str, str] = {}
    for env in values(unit, "Service", "EnvironmentFile"):
        environ |= env_file(UNITS / f"{Path(env).name}.example")
    secrets = {
        "secret_key": "k" * 48,
        "data_keys": f"k1:{_key()}",
        "index_keys": f"i1:{_key()}",
        "audit_key": _key(),
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "0" * 32,
    }
    for credential, source in (v.split(":", 1) for v in values(unit, "Service", "LoadCredential")):
        assert source.startswith("/etc/outreach/credentials/")
        (tmp_path / credential).write_text(secrets.get(credential, "*:*:*:*:secret\n"))
    for assignment in values(unit, "Service", "Environment"):
        name, _, value = assignment.partition("=")
        environ[name] = value.replace("%d", str(tmp_path))
    environ["OUTREACH_INSTANCE_PATH"] = str(tmp_path / "instance")
    settings = load_settings(environ)
    assert settings.is_production
    assert settings.proxy_hops == 1
    assert settings.secrets.data_keys[0].key_id == "k1"
    assert settings.secrets.twilio_auth_token == "0" * 32
    assert not settings.generated_secrets
    assert make_url(settings.database_url).password is None, "the password is in pgpass"


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()
