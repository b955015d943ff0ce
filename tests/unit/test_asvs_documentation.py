"""docs/security/controls.md says what the code does: its numbers, names and lists agree.

ASVS asks for documented decisions (6.1.1, 7.1.1, 8.1.1, 11.1.2, 13.1.1, 14.1.1, 16.1.1...);
a document that drifts from the code is worse than none, so each checked claim is read here.
"""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import LargeBinary

from outreach.domain.protocols.profile import MIN_ATTEMPTS_FLOOR
from outreach.domain.vocabulary import Role
from outreach.models import Base
from outreach.security.passwords import MAX_LENGTH, MIN_LENGTH
from outreach.security.permissions import ROLE_PERMISSIONS, Permission
from outreach.services.scheduling import claims
from outreach.services.staff import auth
from outreach.settings import load_settings
from outreach.web.auth import SECOND_STEP_LIMIT

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security" / "controls.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _values() -> dict[str, str]:
    """The `- Name: value` lines."""
    return dict(re.findall(r"^- ([A-Z][^:`*\n]+): (.+)$", _text(), flags=re.MULTILINE))


def _section(number: int) -> str:
    text = _text()
    start = text.index(f"\n## {number}. ")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def test_the_documented_guards_against_guessing_are_the_codes() -> None:
    """ASVS 6.1.1: the lockout and the address throttle as configured."""
    values = _values()
    assert (
        values["Account lockout"]
        == f"{auth.MAX_FAILURES} failures, {_minutes(auth.LOCKOUT)} minutes"
    )
    throttle = auth.THROTTLE
    assert values["Address throttle"] == (
        f"{throttle.limit} failures per {_minutes(throttle.period)} minutes"
    )


def test_the_documented_session_limits_are_the_codes() -> None:
    """ASVS 7.1.1: inactivity and absolute limits, and the second step's time."""
    values = _values()
    assert values["Inactivity limit"] == f"{_minutes(auth.IDLE_LIMIT)} minutes"
    assert values["Absolute limit"] == f"{_minutes(auth.ABSOLUTE_LIMIT) // 60} hours"
    assert auth.ABSOLUTE_LIMIT % timedelta(hours=1) == timedelta(0)
    assert values["Second step"] == f"{_minutes(SECOND_STEP_LIMIT)} minutes"


def test_the_documented_api_token_lifetime_is_the_settings_default(tmp_path: Path) -> None:
    """ASVS 6.3.4, 7.1.1: how long a token works, as a fresh install configures it."""
    days = load_settings({}, instance_path=tmp_path).api_token_days
    assert _values()["API token lifetime"] == f"{days} days unless set"
    assert "`OUTREACH_API_TOKEN_DAYS`" in _section(3)


def test_the_documented_input_rules_and_limits_are_the_codes(tmp_path: Path) -> None:
    """ASVS 2.1.1, 2.1.3: password lengths, body size, claim lease, minimum attempts."""
    from outreach import _flask_config

    values = _values()
    assert values["Passwords"] == f"{MIN_LENGTH} to {MAX_LENGTH} characters"
    body = _flask_config(load_settings({}, instance_path=tmp_path))["MAX_CONTENT_LENGTH"]
    assert values["Request body"] == f"{body // (1024 * 1024)} MiB"
    assert body % (1024 * 1024) == 0
    assert values["Claim lease"] == f"{_minutes(claims.LEASE)} minutes"
    assert values["Attempts before unreachable"] == f"at least {MIN_ATTEMPTS_FLOOR}"


def test_the_documented_authorization_summary_holds() -> None:
    """ASVS 8.1.1: what section 4 says of each role is what ROLE_PERMISSIONS grants."""
    assert "ROLE_PERMISSIONS" in _section(4)
    for permission in Permission:
        assert len(permission.value.split(":")) == 3, permission
    held = {role: {p.value for p in perms} for role, perms in ROLE_PERMISSIONS.items()}
    assert all(p.startswith("program:") for p in held[Role.FACILITATOR])
    assert not any(p.startswith("contact:") for p in held[Role.FACILITATOR])
    assert all(p.startswith("contact:") for p in held[Role.LIAISON])
    assert held[Role.LIAISON] <= held[Role.SUPERVISOR]
    assert any(p.startswith("contact:release:") for p in held[Role.SUPERVISOR])
    admin_only = {p for p in held[Role.ADMIN] if p.startswith("admin:")}
    assert admin_only
    assert all(not admin_only & held[role] for role in held if role is not Role.ADMIN)
    assert held[Role.FACILITATOR] <= held[Role.ADMIN]
    # PRODUCT.md, roles: admins never read contact data nor claim a contact task.
    assert not any(p.startswith("contact:") for p in held[Role.ADMIN])


def _secret_names() -> set[str]:
    tree = ast.parse((ROOT / "outreach" / "settings_secrets.py").read_text(encoding="utf-8"))
    [loader] = [
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "load_secrets"
    ]
    return {
        node.value
        for node in ast.walk(loader)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"(OUTREACH|TWILIO)_[A-Z_]+", node.value)
    }


def test_every_secret_the_settings_read_is_in_the_cryptographic_inventory() -> None:
    """ASVS 11.1.2: each key and credential the product loads has its row in section 9."""
    names = _secret_names()
    assert {"OUTREACH_SECRET_KEY", "OUTREACH_DATA_KEYS", "OUTREACH_AUDIT_KEY"} <= names
    inventory = _section(9)
    missing = sorted(name for name in names if f"`{name}`" not in inventory)
    assert not missing, f"add to docs/security/controls.md section 9: {missing}"


# What a use in the code looks like, and how section 9 must name it.
PRIMITIVES = {
    "AESGCM": "AES-256-GCM",
    "hashlib.sha256": "SHA256",
    "hashlib.sha1": "HMAC-SHA1",
    "PasswordHasher": "argon2id",
    "secrets.token_urlsafe": "`secrets`",
}


def test_every_primitive_the_code_uses_is_in_the_cryptographic_inventory() -> None:
    """ASVS 11.1.2: the algorithms in use, found in the code, each named in section 9."""
    sources = [*(ROOT / "outreach").rglob("*.py"), *(ROOT / "webhooks").rglob("*.py")]
    code = "\n".join(p.read_text(encoding="utf-8") for p in sources if "versions" not in p.parts)
    inventory = _section(9)
    for used, named in PRIMITIVES.items():
        assert used in code, f"{used} is no longer used: update PRIMITIVES and section 9"
        assert named in inventory, f"section 9 does not name {named}"


def _security_events() -> set[str]:
    found: set[str] = set()
    for path in [*(ROOT / "outreach").rglob("*.py"), *(ROOT / "webhooks").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name, first = ast.unparse(node.func), node.args[0]
            if name.endswith("security_event") and isinstance(first, ast.Constant):
                found.add(str(first.value))
            elif name.endswith("request_refused"):
                found.add("request.refused")
    return found


def test_every_security_event_the_code_logs_is_in_the_log_inventory() -> None:
    """ASVS 16.1.1, 16.3.3: the log inventory lists each security event the code emits."""
    events = _security_events()
    assert {"api.token_refused", "webhook.signature_refused", "web.csrf_refused"} <= events
    inventory = _section(7)
    missing = sorted(event for event in events if f"`{event}`" not in inventory)
    assert not missing, f"add to docs/security/controls.md section 7: {missing}"


# Column names that would mean contact data stored in the clear.
CONTACT_DATA_NAMES = {"phone", "phone_number", "notes", "body", "text", "recipient", "statement"}


def test_contact_data_is_stored_only_in_sealed_columns() -> None:
    """ASVS 14.1.1, 14.1.2: the classification's storage rule holds for every table."""
    assert "`*_sealed`" in _section(6)
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            where = f"{table.name}.{column.name}"
            if isinstance(column.type, LargeBinary):
                assert column.name.endswith("_sealed") or column.name == "wrapped_key", where
            assert column.name not in CONTACT_DATA_NAMES, f"{where} looks like contact data"
    contact = Base.metadata.tables["contact_person"]
    assert "name" not in contact.columns


NETWORK_MODULES = (
    "twilio.rest",
    "twilio.http",
    "requests",
    "httpx",
    "urllib.request",
    "http.client",
    "socket",
    "smtplib",
    "aiohttp",
)


def test_only_the_documented_module_reaches_the_network() -> None:
    """ASVS 13.1.1: Twilio through outreach/channels/twilio.py is the one outbound service."""
    reaching: set[str] = set()
    for path in [*(ROOT / "outreach").rglob("*.py"), *(ROOT / "webhooks").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            if any(m == n or m.startswith(f"{n}.") for m in modules for n in NETWORK_MODULES):
                reaching.add(str(path.relative_to(ROOT)))
    assert reaching == {"outreach/channels/twilio.py"}
    assert "`outreach/channels/twilio.py`" in _section(8)
