"""What every response carries, whatever answers it: the headers and cookies of ASVS V3/V4.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.test import TestResponse

from outreach import create_app
from outreach.clock import FixedClock
from outreach.services.intake import programs
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from outreach.settings import Settings, load_settings
from tests.conftest import NOW
from tests.factories import World
from tests.functional.web import csrf, log_in

HTTPS_URL = "https://outreach.example.org"


@pytest.fixture
def https_settings(settings: Settings, test_environ: dict[str, str]) -> Settings:
    return load_settings(
        {
            **test_environ,
            "OUTREACH_DATABASE_URL": settings.database_url,
            "OUTREACH_PUBLIC_URL": HTTPS_URL,
        }
    )


@pytest.fixture
def https_app(
    https_settings: Settings, sessions: sessionmaker[Session], clock: FixedClock
) -> Flask:
    """The app as production serves it: behind https, so cookies are Secure and HSTS is sent."""
    return create_app({"TESTING": True}, settings=https_settings, sessions=sessions, clock=clock)


def _every_kind_of_response(client: FlaskClient) -> dict[str, TestResponse]:
    """A page, a form refusal, a JSON answer, an API refusal, a webhook refusal, a 404, a file."""
    answers = {
        "page": client.get("/login"),
        "csrf refusal": client.post("/login", data={"username": "x", "password": "y"}),
        "openapi": client.get("/api/v1/openapi.json"),
        "api refusal": client.get("/api/v1/tasks"),
        "webhook refusal": client.post("/webhooks/twilio/sms/inbound", data={"Body": "STOP"}),
        "not found": client.get("/no/such/page"),
        "health": client.get("/healthz"),
        "static file": client.get("/static/app.css"),
    }
    for response in answers.values():
        response.close()
    return answers


def test_every_kind_of_response_carries_the_browser_protections(client: FlaskClient) -> None:
    """ASVS 3.4.3, 3.4.4, 3.4.5, 3.4.6, 14.2.2, 14.3.2: CSP, nosniff, referrer, no caching."""
    for kind, response in _every_kind_of_response(client).items():
        csp = response.headers.get("Content-Security-Policy", "")
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in csp, f"{kind}: {directive} missing"
        assert "default-src 'self'" in csp, kind
        assert "unsafe-inline" not in csp, kind
        assert "unsafe-eval" not in csp, kind
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["Referrer-Policy"] == "no-referrer", kind
        assert response.headers["Cache-Control"] == "no-store", kind


def test_behind_https_every_response_sets_a_year_of_hsts_for_subdomains_too(
    https_app: Flask,
) -> None:
    """ASVS 3.4.1: Strict-Transport-Security of at least a year, with includeSubDomains."""
    for kind, response in _every_kind_of_response(https_app.test_client()).items():
        hsts = response.headers.get("Strict-Transport-Security", "")
        match = re.search(r"max-age=(\d+)", hsts)
        assert match, f"{kind}: {hsts!r}"
        assert int(match.group(1)) >= 31_536_000, f"{kind}: {hsts!r}"
        assert "includeSubDomains" in hsts, kind


def test_behind_https_the_session_cookie_is_host_only_secure_httponly_and_strict(
    https_app: Flask,
) -> None:
    """ASVS 3.3.1, 3.3.2, 3.3.3, 3.3.4: __Host- prefix, Secure, HttpOnly, SameSite=Strict."""
    response = https_app.test_client().get("/login", base_url=HTTPS_URL)
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1, "the session cookie is the only cookie"
    name, _, attributes = cookies[0].partition(";")
    assert name.startswith("__Host-outreach=")
    parts = {part.strip().split("=")[0].lower(): part.strip() for part in attributes.split(";")}
    assert "secure" in parts
    assert "httponly" in parts
    assert parts["samesite"] == "SameSite=Strict"
    assert parts["path"] == "Path=/"
    assert "domain" not in parts, "a __Host- cookie names no domain"


def test_no_cross_origin_reads_are_allowed(client: FlaskClient) -> None:
    """ASVS 3.4.2: no Access-Control-Allow-Origin header, for a request or a preflight."""
    origin = {"Origin": "https://elsewhere.example"}
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    answers = [
        client.get("/api/v1/openapi.json", headers=origin),
        client.get("/api/v1/tasks", headers=origin),
        client.options("/api/v1/groups", headers=preflight),
        client.get("/login", headers=origin),
    ]
    for response in answers:
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_text_answers_name_their_charset_and_json_is_json(app: Flask, client: FlaskClient) -> None:
    """ASVS 4.1.1: a Content-Type that matches the body, with the charset for text types."""
    answers = _every_kind_of_response(client)
    assert answers["page"].headers["Content-Type"] == "text/html; charset=utf-8"
    assert answers["not found"].headers["Content-Type"] == "text/html; charset=utf-8"
    assert answers["static file"].headers["Content-Type"] == "text/css; charset=utf-8"
    for kind in ("openapi", "api refusal", "health"):
        assert answers[kind].headers["Content-Type"] == "application/json", kind
        assert answers[kind].get_json() is not None, kind
    with app.test_request_context():
        from webhooks.common import twiml

        assert twiml(MessagingResponse()).headers["Content-Type"] == "text/xml; charset=utf-8"


def test_the_attempt_export_downloads_as_a_csv_attachment(
    client: FlaskClient, world: World
) -> None:
    """ASVS 3.2.1, 4.1.1: the export is never rendered in the page's context."""
    log_in(client, world.users["supervisor"])
    response = client.get("/review/attempts.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/login", "/api/v1/tasks", "/webhooks/twilio/sms/inbound"])
def test_the_trace_method_is_not_supported(client: FlaskClient, path: str) -> None:
    """ASVS 13.4.4: TRACE answers 405 everywhere."""
    assert client.open(path, method="TRACE").status_code == 405


@pytest.mark.parametrize(
    "path", ["/static/", "/static", "/.git/config", "/.git/HEAD", "/instance/"]
)
def test_no_directory_listing_and_no_source_control_metadata_is_served(
    client: FlaskClient, path: str
) -> None:
    """ASVS 13.4.1, 13.4.3: a directory or .git path is simply not found."""
    response = client.get(path)
    assert response.status_code == 404
    assert "Index of" not in response.get_data(as_text=True)


def test_signing_in_never_redirects_to_another_site(client: FlaskClient, world: World) -> None:
    """ASVS 3.7.2: the only redirect after sign-in is to the application's own page for the
    user's role (issue 22 item 4: the liaison's is the call queue)."""
    data = {
        "username": world.users["liaison"].username,
        "password": "correct horse battery staple",
        "csrf_token": csrf(client),
    }
    response = client.post("/login?next=https://elsewhere.example/", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/queue"


def test_text_from_the_program_side_is_escaped_in_every_page(
    client: FlaskClient, db: Session, world: World
) -> None:
    """ASVS 1.1.2, 1.2.1, 3.2.2: autoescaping writes markup from input as text."""
    programs.create_group(
        db,
        program_id=world.home.id,
        now=NOW,
        name='<script>alert(1)</script>"><img src=x onerror=alert(2)>',
        timezone="America/New_York",
        rrule="FREQ=WEEKLY;BYDAY=TH",
        start_time="19:00",
        duration_minutes=90,
        starts_on=world.group.starts_on,
        ends_on=world.group.ends_on,
        actor=SYSTEM,
    )
    log_in(client, world.users["facilitator"])
    page = client.get("/groups").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "<img src=x" not in page


def test_the_password_fields_mask_and_let_password_managers_fill_them(
    client: FlaskClient, world: World
) -> None:
    """ASVS 6.2.6, 6.2.7, 6.4.2: type=password, no paste blocking, no hint or secret question."""
    login = client.get("/login").get_data(as_text=True)
    names = set(re.findall(r'<input[^>]*name="([^"]+)"', login))
    assert names == {"csrf_token", "username", "password"}, "no hint or secret-question field"
    assert re.search(r'<input[^>]*name="password"[^>]*type="password"', login)
    assert 'autocomplete="current-password"' in login
    log_in(client, world.users["admin"])
    form = client.get("/admin/users").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="password"[^>]*type="password"', form)
    for page in (login, form):
        assert "onpaste" not in page
        assert "oncopy" not in page
        assert 'autocomplete="off"' not in page
        assert "<script" not in page, "no script could block pasting"


@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("liaison", "/home"),
        ("liaison", "/queue"),
        ("liaison", "/account/second-factor"),
        ("supervisor", "/review/attempts"),
        ("facilitator", "/groups"),
        ("admin", "/admin/users"),
    ],
)
def test_every_signed_in_page_offers_sign_out(
    client: FlaskClient, world: World, persona: str, path: str
) -> None:
    """ASVS 7.4.4: the sign-out button is on every page that needs a session."""
    log_in(client, world.users[persona])
    page = client.get(path).get_data(as_text=True)
    assert re.search(r'<form[^>]*method="post"[^>]*action="/logout"', page), path


def test_every_staff_form_refuses_a_post_without_its_csrf_token(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """ASVS 3.5.1, 3.5.3: every state-changing page request is a POST with a CSRF token."""
    log_in(client, world.users["admin"])
    checked_elsewhere = {"/login", "/login/code", "/logout"}  # test_web_login checks them
    posts = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
        and not rule.rule.startswith(("/api/", "/webhooks/"))
        and rule.rule not in checked_elsewhere
    ]
    assert len(posts) > 10
    for rule in posts:
        path = re.sub(r"<uuid:[a-z_]+>", str(uuid.uuid4()), rule)
        assert "<" not in path, f"{rule} has an argument this test cannot fill"
        assert client.post(path, data={"outcome": "no_answer"}).status_code == 400, rule
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 400, rule


def test_no_route_carries_data_in_its_path(app: Flask) -> None:
    """ASVS 14.2.1: paths hold opaque ids only; secrets travel in headers and cookies.

    Pages take ids as UUIDs; the API takes `*_id` as text and parses it as an id it gave out.
    """
    for rule in app.url_map.iter_rules():
        for argument, converter in rule._converters.items():
            kind = type(converter).__name__
            allowed = (
                kind == "UUIDConverter"
                or (rule.rule.startswith("/api/") and argument.endswith("_id"))
                or (rule.endpoint, argument) == ("static", "filename")
            )
            assert allowed, f"{rule.rule} takes {argument} as {kind}"


def test_an_api_path_id_that_is_not_an_id_is_refused(
    client: FlaskClient, db: Session, world: World
) -> None:
    """ASVS 14.2.1, 2.2.1: text in an id's place is refused as input, never looked up."""
    token = tokens.issue_token(
        db, username=world.users["liaison"].username, days=90, now=NOW, actor=SYSTEM
    ).token
    response = client.patch(
        "/api/v1/contacts/+14045550123/preferences",
        json={"consent": "declined"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (400, 404, 422)
    assert "4045550123" not in response.get_data(as_text=True)


TEMPLATES = Path(__file__).resolve().parents[2] / "outreach" / "web" / "templates"
STATIC = TEMPLATES.parent / "static"
OWN_SCRIPT = re.compile(
    r"""<script src="\{\{ url_for\('static', filename='[a-z_]+\.js'\) \}\}" defer></script>"""
)


def test_the_scripts_of_our_own_write_text_only_and_listen_to_no_one() -> None:
    """ASVS 3.2.2, 3.5.5, 1.2.3: what a script puts on the page goes in as text
    (textContent), it builds no code from strings and takes no message from another window."""
    scripts = sorted(STATIC.glob("*.js"))
    assert scripts, "the call following's script is there to check"
    for script in scripts:
        code = script.read_text(encoding="utf-8")
        for unsafe in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "postMessage",
            'addEventListener("message"',
        ):
            assert unsafe not in code, f"{script.name}: {unsafe}"


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_pages_load_nothing_from_elsewhere_and_use_no_plugins(template: str) -> None:
    """ASVS 3.7.1, 14.2.3: plain HTML, CSS and inline SVG; no tracker, CDN, frame or plugin.
    The one kind of script a page may carry is a file of our own static folder, never inline
    code (CSP `script-src 'self'`): today only the task page's call following."""
    page = (TEMPLATES / template).read_text(encoding="utf-8")
    own_files = re.sub(OWN_SCRIPT, "", page)
    for element in ("<script", "<object", "<embed", "<applet", "<iframe", "<frame"):
        assert element not in own_files.lower(), f"{template}: {element}"
    outside = re.findall(r"https?://[^\s\"'<>]+", page)
    assert set(outside) <= {"http://www.w3.org/2000/svg"}, f"{template}: {outside}"
