"""Fixtures: databases, per-test rollback, the app, personas and a frozen clock."""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import hypothesis
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from outreach import create_app, watch_sessions
from outreach.clock import FixedClock
from outreach.db import AUDIT_KEY, make_engine, migrate
from outreach.runtime import Runtime, runtime
from outreach.security.vault import Vault
from outreach.settings import Settings, load_settings
from tests import databases, factories

# A Tuesday afternoon in New York, before that evening's group session.
NOW = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)

DATABASES, _CI_PROBLEM = databases.selected()

# Hypothesis: on CI every run draws the same examples, so a red build is the code's doing and
# replays, never a draw of luck; no example database is kept between runs, neither a deadline
# nor the too-slow health check trips on a busy runner, and a failure prints the blob that
# reproduces it. Locally each run draws new examples and replays earlier failures from
# .hypothesis/ first. Both start from hypothesis's defaults, whatever profile it chose itself.
_DEFAULTS = hypothesis.settings.get_profile("default")
hypothesis.settings.register_profile(
    "ci",
    _DEFAULTS,
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.register_profile("dev", _DEFAULTS, print_blob=True)


def hypothesis_profile(environ: dict[str, str]) -> str:
    """The profile a run uses: HYPOTHESIS_PROFILE if set, "ci" under CI=true, else "dev"."""
    if environ.get("HYPOTHESIS_PROFILE"):
        return environ["HYPOTHESIS_PROFILE"]
    return "ci" if environ.get("CI", "").lower() == "true" else "dev"


hypothesis.settings.load_profile(hypothesis_profile(dict(os.environ)))
_ran: Counter[str] = Counter()


def pytest_sessionstart(session: pytest.Session) -> None:
    if _CI_PROBLEM:
        pytest.exit(_CI_PROBLEM, returncode=3)


def pytest_report_header() -> str:
    return f"outreach databases: {', '.join(DATABASES)}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for name in DATABASES:
            if f"[{name}" in report.nodeid or f"-{name}]" in report.nodeid:
                _ran[name] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    runs = ", ".join(f"{name} ({_ran[name]} tests passed)" for name in DATABASES)
    terminalreporter.write_line(f"databases ran: {runs}")


def _test_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="session")
def test_environ(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        "OUTREACH_INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "OUTREACH_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "OUTREACH_DATA_KEYS": f"test1:{_test_key()}",
        "OUTREACH_INDEX_KEY": _test_key(),
        "OUTREACH_AUDIT_KEY": _test_key(),
        "OUTREACH_CHANNEL": "simulator",
    }


@pytest.fixture(scope="session", params=DATABASES)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        db_engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
        migrate(db_engine)
        yield db_engine
        db_engine.dispose()
        return
    yield from _postgres_engine()


def _postgres_engine() -> Iterator[Engine]:
    """A schema of this run's own, so parallel runs on one server never meet."""
    schema = f"outreach_test_{os.getpid()}"
    admin = make_engine(databases.POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db_engine = make_engine(
        databases.POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}
    )
    migrate(db_engine)
    yield db_engine
    db_engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[object]:
    """One connection per test inside a transaction that is rolled back afterwards."""
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def sessions(connection: object, test_environ: dict[str, str]) -> sessionmaker[Session]:
    # Services commit; here each commit only releases a savepoint of the outer transaction.
    factory = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",  # type: ignore[call-overload]
        expire_on_commit=False,
        info={AUDIT_KEY: audit_key(test_environ)},
    )
    watch_sessions(factory)  # as create_app does for the application
    return factory


def audit_key(environ: dict[str, str]) -> bytes:
    """The audit key the test settings load, for sessions the tests build themselves."""
    return base64.urlsafe_b64decode(environ["OUTREACH_AUDIT_KEY"])


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(test_environ: dict[str, str], engine: Engine) -> Settings:
    # The app's own engine is never used in these tests: requests run on `sessions`.
    url = engine.url.render_as_string(hide_password=False)
    return load_settings({**test_environ, "OUTREACH_DATABASE_URL": url})


@pytest.fixture
def vault(settings: Settings) -> Vault:
    return Vault.from_secrets(settings.secrets)


@pytest.fixture
def app(settings: Settings, sessions: sessionmaker[Session], clock: FixedClock) -> Flask:
    return create_app({"TESTING": True}, settings=settings, sessions=sessions, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def world(db: Session, vault: Vault) -> factories.World:
    """Two programs, a group, a participant with a contact, and the personas."""
    return factories.build_world(db, vault, now=NOW)


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(params=DATABASES)
def own_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of the test's own, for work that must really commit (races, processes)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'own.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    schema = f"outreach_own_{os.getpid()}"
    admin = make_engine(databases.POSTGRES_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(
        databases.POSTGRES_URL,
        connect_args={"options": f"-csearch_path={schema}"},
        pool_size=16,
    )
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def own_runtime(own_engine: Engine, test_environ: dict[str, str]) -> Iterator[Runtime]:
    """The application's runtime on the test's own database (for processes and races)."""
    settings = load_settings({**test_environ, "OUTREACH_DATABASE_URL": engine_url(own_engine)})
    rt = runtime(create_app({"TESTING": True}, settings=settings))
    yield rt
    rt.engine.dispose()


def engine_url(engine: Engine) -> str:
    """A URL another process can open: on PostgreSQL it carries this run's search path."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "postgresql" or "options" in engine.url.query:
        return url
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SHOW search_path").scalar_one()
    return f"{url}?options=" + quote(f"-csearch_path={schema}")
