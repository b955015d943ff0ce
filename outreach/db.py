"""Engine and session factory; SQLite is tuned for safety.

WAL, commits durable before they return, and every transaction begun IMMEDIATE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Dialect, Engine, TextClause, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from outreach.write_queue import QueuedConnection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Where a session carries the audit chain's key: every audit row is chained with it (S10).
AUDIT_KEY = "audit_key"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if _is_sqlite_file(url):
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "factory": QueuedConnection}
    elif make_url(url).get_backend_name() != "sqlite":
        # A pooled connection the server ended (a terminated backend, a restart) is found and
        # replaced before a request uses it, not answered as a 500 (issue 21 finding 17).
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _is_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def _tune_sqlite(engine: Engine) -> None:
    path = engine.url.database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event own BEGIN, so writes can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        journal = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        for pragma in (
            "busy_timeout=5000",
            "foreign_keys=ON",
            # Deleted contact data is overwritten, not left in free pages (S10).
            "secure_delete=ON",
            # A commit is durable before it returns: a lost attempt or STOP is never answered
            # as kept. FULL syncs inside the write lock; a queued connection in WAL mode makes
            # the same sync once the lock is released (outreach/write_queue.py).
            "synchronous=FULL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        if journal == "wal" and isinstance(dbapi_connection, QueuedConnection):
            dbapi_connection.syncs_wal()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        begin_immediate(conn.connection.driver_connection)


def begin_immediate(driver: Any) -> None:
    """Start a SQLite write transaction, queued behind the others (outreach/write_queue.py).

    Immediate, because a deferred read-then-write can fail with SQLITE_BUSY despite
    busy_timeout."""
    if isinstance(driver, QueuedConnection):
        driver.queue()
    try:
        driver.execute("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(driver, QueuedConnection):
            driver.leave()
        raise


class DriverStatement:
    """One SQL statement compiled once per dialect by SQLAlchemy, then run on a bare driver
    connection with SQLAlchemy's own conversion of each parameter (UUIDs, JSON, UTC times).

    For the one statement of the busiest webhooks: going through a Session and its
    Connection cost more than the statement itself."""

    def __init__(self, statement: TextClause) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def run_alone(self, bind: Engine | Connection, values: Mapping[str, Any]) -> Any:
        """Run as a transaction of its own and answer the first row, or None.

        On an engine: a pooled connection, queued and BEGIN IMMEDIATE on SQLite, a single
        self-committing round trip on PostgreSQL. On a Connection (the tests' rolled-back
        one): a savepoint inside its transaction."""
        # Converted before any lock is taken, so the SQLite write lock is held only for SQL.
        sql, parameters = self._ready(bind.dialect, values)
        if isinstance(bind, Connection):
            with bind.begin_nested():
                return _first_row(bind.connection.driver_connection, sql, parameters)
        try:
            return _alone_on_a_pooled_connection(bind, sql, parameters)
        except Exception as exc:
            if not _lost(exc):
                raise
        # The connection died (its pooled one is invalidated): run it once more on a fresh
        # one. Only statements that may run twice come here: the webhooks' stores, each keyed
        # by the provider's natural key (issue 21 finding 17).
        return _alone_on_a_pooled_connection(bind, sql, parameters)

    def _ready(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[str, Any]:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled.of(self._statement, dialect)
        return compiled.sql, compiled.parameters(values)


def _alone_on_a_pooled_connection(engine: Engine, sql: str, parameters: Any) -> Any:
    pooled = engine.raw_connection()
    driver: Any = pooled.driver_connection
    try:
        if engine.dialect.name == "sqlite":
            begin_immediate(driver)
            row = _first_row(driver, sql, parameters)
            driver.commit()
            return row
        driver.autocommit = True
        try:
            return _first_row(driver, sql, parameters)
        finally:
            driver.autocommit = False
    except BaseException as exc:
        if engine.dialect.is_disconnect(exc, driver, None):  # type: ignore[arg-type]
            pooled.invalidate(exc)  # never handed out again
        else:
            pooled.rollback()
        raise
    finally:
        pooled.close()


def _lost(exc: BaseException) -> bool:
    from outreach.reconnect import connection_lost

    return connection_lost(exc)


def _first_row(driver: Any, sql: str, parameters: Any) -> Any:
    with closing(driver.cursor()) as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchone()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # positional parameters (SQLite), or None for named
    convert: dict[str, Callable[[Any], Any]]

    @classmethod
    def of(cls, statement: TextClause, dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        convert: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                convert[name] = processor
        order = tuple(compiled.positiontup) if compiled.positiontup else None
        return cls(compiled.string, order, convert)

    def parameters(self, values: Mapping[str, Any]) -> Any:
        ready = {
            name: (self.convert[name](value) if name in self.convert else value)
            for name, value in values.items()
        }
        return ready if self.order is None else tuple(ready[name] for name in self.order)


def make_session_factory(engine: Engine, *, audit_key: bytes) -> sessionmaker[Session]:
    """Sessions that carry the audit key, so `audit.record()` can chain without a global.
    The hooks the services hang on these sessions are registered by `create_app`
    (`outreach.watch_sessions`): this module sits below the services and imports none."""
    return sessionmaker(bind=engine, expire_on_commit=False, info={AUDIT_KEY: audit_key})


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    with schema_change(engine) as connection:
        command.upgrade(alembic_config(connection), "head")


@contextmanager
def schema_change(engine: Engine) -> Iterator[Connection]:
    """A transaction for migrations. On SQLite, foreign keys are off while it runs, as SQLite's
    own procedure for changing a table asks (sqlite.org/lang_altertable.html): a migration that
    rebuilds a table (a batch in Alembic) drops the old one, and with the keys on, the rows that
    refer to it in a live database refuse the drop. Before the commit every reference is
    checked; a broken one stops the migration and nothing of it is kept."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        driver: Any = connection.connection.driver_connection
        if sqlite:
            driver.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: first
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"a migration left a broken reference in {broken[0]}")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys=ON")
