"""The `outreach` command (also `flask --app outreach`): parse, call one service, print."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from outreach.runtime import Runtime, runtime
from outreach.services.demo_data import demo as demo_seed
from outreach.services.demo_data import demo_callable, demo_practice
from outreach.services.errors import ServiceError
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens as token_service
from outreach.services.staff import users as user_service
from outreach.settings import MAX_API_TOKEN_DAYS, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outreach.services.records import key_rotation
    from outreach.services.records.audit_chain import ChainHead


def register(app: Flask) -> None:
    for command in (
        init_command,
        demo_command,
        serve_command,
        users_group,
        audit_group,
        keys_group,
        lint_scripts_command,
        plan_command,
        outbox_command,
        tick_command,
        scheduler_command,
    ):
        app.cli.add_command(command)
    app.cli.add_command(__import__("outreach.cli_import", fromlist=["x"]).import_command)
    app.cli.add_command(__import__("outreach.cli_purge", fromlist=["x"]).purge_command)
    app.cli.add_command(__import__("outreach.cli_backup", fromlist=["x"]).backup_group)
    app.cli.add_command(__import__("outreach.cli_twilio", fromlist=["x"]).twilio_check_command)
    app.cli.add_command(__import__("outreach.cli_on_call", fromlist=["x"]).on_call_group)


def main() -> None:
    """Entry point of the `outreach` console script."""
    try:
        load_settings()  # a bad setting is one clear line, before anything else runs
    except SettingsError as exc:
        click.echo(f"outreach: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    from outreach import create_app

    group = FlaskGroup(
        name="outreach",
        create_app=lambda: create_app(),
        load_dotenv=False,
        set_debug_flag=False,
        help=__doc__,
    )
    group.main(prog_name="outreach")


def _rt() -> Runtime:
    return runtime(current_app)


def _fail(exc: ServiceError) -> NoReturn:
    raise click.ClickException(exc.message)


Answer = TypeVar("Answer")


def _call(service: Callable[[Session, datetime], Answer]) -> Answer:
    """Run one service call in a session, at the runtime's clock; a refusal is one line."""
    rt = _rt()
    with rt.session() as session:
        try:
            return service(session, rt.clock.now())
        except ServiceError as exc:
            _fail(exc)


@click.command("init")
def init_command() -> None:
    """Create or migrate the database to the newest schema."""
    from outreach.db import migrate

    rt = _rt()
    migrate(rt.engine)
    click.echo(f"database ready ({rt.engine.url.render_as_string(hide_password=True)})")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Set up and seed, then exit.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Set up an SQLite database with synthetic demo data and serve the app."""
    from outreach.db import migrate

    rt = _rt()
    if rt.settings.is_production:
        raise click.ClickException("the demo never runs in production")
    migrate(rt.engine)
    hours = (rt.settings.calling_start, rt.settings.calling_end)
    with rt.session() as session:
        if demo_seed.already_seeded(session):
            click.echo("demo data already present")
        else:
            click.echo("seeding demo data (synthetic, fictional people) ...")
            demo_seed.seed(session, rt.vault, rt.profiles, now=rt.clock.now(), calling_hours=hours)
        callable_now = demo_callable.callable_reference(session, rt.clock.now(), hours)
        practice = demo_practice.banner(session)
    _print_logins()
    click.echo("Cases to look at (each program's practice):")
    for line in practice:
        click.echo(f"  {line}")
    click.echo("")
    if callable_now:
        # Issue 22 item 7: one contact named a safe time that is now, where it is calling hours.
        click.echo(
            f"To place a simulated call now: sign in as sam.rivera, open {callable_now} in the "
            "call queue (its contact named a safe time from this hour, in her own time zone, "
            "inside calling hours), claim it and press Call.\n"
        )
    if not no_serve:
        from outreach.scheduler.runner import build

        # One process for the demo: the scheduler ticks beside the web app.
        build(_rt(), background=True).start()
        _serve(host, port)


def _print_logins() -> None:
    click.echo("\nDemo logins (demo only; never use these anywhere else):")
    for login in demo_seed.LOGINS:
        programs = ", ".join(login.programs)
        click.echo(f"  {login.username:<12} {login.password:<26} {login.role:<12} {programs}")
    click.echo("")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve_command(host: str, port: int) -> None:
    """Serve the web app (development and demo; production runs under gunicorn)."""
    if _rt().settings.is_production:
        raise click.ClickException(
            "in production run: gunicorn 'outreach:create_app()' (this server is for demos)"
        )
    _serve(host, port)


def _serve(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    click.echo(f"outreach is serving on http://{host}:{port}  (Ctrl-C stops it)")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.group("users")
def users_group() -> None:
    """Staff accounts and API tokens: create, recover, revoke."""


@users_group.command("add")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["liaison", "supervisor", "facilitator", "admin"])
)
@click.option("--program", "programs", multiple=True, help="Program key (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username: str, role: str, programs: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user with a role, scoped to programs."""
    password = _read_password(password_stdin)
    _call(
        lambda session, now: user_service.add_user(
            session,
            username=username,
            role=role,
            password=password,
            program_keys=programs,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(f"user {username} created ({role})")


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        entered: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return entered
    return None  # an account for API tokens only: it cannot log in to the web pages


@users_group.command("token")
@click.argument("username")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_API_TOKEN_DAYS),
    help="Days the token works (default: OUTREACH_API_TOKEN_DAYS, 90 unless set).",
)
def users_token(username: str, days: int | None) -> None:
    """Print a new API token for USERNAME, once; it acts with the user's role.

    The token alone goes to standard output, so a script can capture it; its expiry goes to
    standard error. Issue the next one before then: the old one stops on its own.
    """
    lifetime = _rt().settings.api_token_days if days is None else days
    issued = _call(
        lambda session, now: token_service.issue_token(
            session,
            username=username,
            days=lifetime,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(issued.token)
    click.echo(
        f"API token of {username} expires {issued.expires_at:%Y-%m-%d %H:%M} UTC ({lifetime} days)",
        err=True,
    )


@users_group.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_reset_password(username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password, lift a lockout and end their web sessions.

    For a user who forgot their password or is locked out. The rules of `users add` apply.
    Their second factor and API tokens stay as they are (see reset-second-factor and
    revoke-tokens). Without --password-stdin the password is asked for twice.
    """
    password = _read_password(password_stdin)
    if password is None:
        raise click.UsageError("give the new password with --password-stdin or at a terminal")
    ended = _call(
        lambda session, now: user_service.reset_password(
            session,
            username=username,
            password=password,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(f"password of {username} reset; {ended} web session(s) ended")


@users_group.command("reset-second-factor")
@click.argument("username")
def users_reset_second_factor(username: str) -> None:
    """Remove USERNAME's second factor and end their web sessions.

    For a user who lost the phone with their authenticator app. Their next sign-in asks
    for the password only, then (in production) for a new second factor before anything
    else. Make sure who is asking before running it: until then the password alone signs in.
    """
    ended = _call(
        lambda session, now: user_service.reset_second_factor(
            session, username=username, now=now, actor=SYSTEM
        )
    )
    click.echo(
        f"second factor of {username} removed; {ended} web session(s) ended; "
        "they set up a new one at their next sign-in"
    )


@users_group.command("revoke-tokens")
@click.argument("username")
@click.option(
    "--without-expiry",
    is_flag=True,
    help="Revoke only the tokens issued before tokens expired (an upgrade's old tokens).",
)
def users_revoke_tokens(username: str, without_expiry: bool) -> None:
    """Revoke every API token of USERNAME at once; the API refuses them from now on.

    For a program system that is retired or whose tokens all leaked (one leaked token
    alone: revoke-token). `users token` issues a new one afterwards. After an upgrade, issue
    the new token first, put it in place, then revoke with --without-expiry: the new token
    keeps working.
    """
    revoked = _call(
        lambda session, now: token_service.revoke_tokens(
            session,
            username=username,
            now=now,
            only_without_expiry=without_expiry,
            actor=SYSTEM,
        )
    )
    click.echo(f"{revoked} API token(s) of {username} revoked")


@users_group.command("tokens")
@click.argument("username")
def users_tokens(username: str) -> None:
    """List USERNAME's API tokens, newest first: id, dates (UTC) and state.

    The id is the start of the token's record, not of the token: give it to revoke-token.
    """
    listed = _call(
        lambda session, now: token_service.list_tokens(session, username=username, now=now)
    )
    if not listed:
        click.echo(f"no API tokens of {username}")
    for token in listed:
        click.echo(_token_line(token))


def _token_line(token: token_service.TokenSummary) -> str:
    expires = (
        "never (issued before expiry)"
        if token.expires_at is None
        else f"{token.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    used = "never" if token.last_used_at is None else f"{token.last_used_at:%Y-%m-%d %H:%M} UTC"
    return (
        f"{token.short_id}  issued {token.issued_at:%Y-%m-%d %H:%M} UTC  expires {expires}  "
        f"last used {used}  {token.state}"
    )


@users_group.command("revoke-token")
@click.argument("username")
@click.argument("token_id")
def users_revoke_token(username: str, token_id: str) -> None:
    """Revoke the one API token of USERNAME whose id starts with TOKEN_ID (8+ hex digits).

    For a leaked token while the user's other tokens keep working, e.g. during a change-over;
    `users tokens` lists the ids. The API refuses that token from now on.
    """
    revoked = _call(
        lambda session, now: token_service.revoke_token(
            session,
            username=username,
            token_id=token_id,
            now=now,
            actor=SYSTEM,
        )
    )
    click.echo(f"API token {revoked.short_id} of {username} revoked")


@click.command("plan")
@click.option("--from", "start", help="Start instant, ISO 8601 with offset (default: now).")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366))
@click.option("--json", "as_json", is_flag=True, help="Print {from, to, windows} as JSON.")
def plan_command(start: str | None, days: int, as_json: bool) -> None:
    """Print the proposed call windows of all open tasks (ids only, never contact data)."""
    import json
    from datetime import timedelta

    from outreach.services.scheduling.planning import plan_open_tasks

    rt = _rt()
    begin = _instant(start) if start else rt.clock.now()
    with rt.session() as session:
        plan = plan_open_tasks(
            session,
            rt.profiles,
            now=begin,
            days=days,
            calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
        )
    end = begin + timedelta(days=days)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "from": begin.isoformat(),
                    "to": end.isoformat(),
                    "windows": [w.to_json() for w in plan.windows],
                    # S13: each task's participant status from the events (issue 19).
                    "participant_status": {
                        task_id: found.status.value for task_id, found in plan.statuses.items()
                    },
                },
                indent=2,
            )
        )
        return
    click.echo(f"{len(plan.windows)} window(s) from {begin:%Y-%m-%d %H:%M} UTC for {days} days")
    for w in plan.windows:
        present = {True: "in group", False: "absent", None: "not checked in"}[w.participant_present]
        click.echo(
            f"  {w.start:%a %m-%d %H:%M}-{w.end:%H:%M} UTC  {w.kind.value:<12} "
            f"task {w.task_id[:8]}  {present if w.group_id else ''}"
        )


def _instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("must be ISO 8601, e.g. 2026-11-17T18:00:00-05:00") from None
    if parsed.tzinfo is None:
        raise click.BadParameter("needs an offset, e.g. 2026-11-17T18:00:00-05:00")
    return parsed


@click.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def outbox_command(as_json: bool) -> None:
    """Show what the console/simulator channel sent, oldest first (refused with twilio)."""
    import json

    from outreach.services.delivery.outbox import read_outbox

    rt = _rt()
    if rt.settings.channel == "twilio":
        raise click.ClickException("the outbox exists only for the console and simulator")
    with rt.session() as session:
        entries = read_outbox(session, rt.vault, now=rt.clock.now())
    if as_json:
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    for entry in entries:
        click.echo(
            f"{entry['at']}  {entry['channel']:<5} {entry['kind']:<15} "
            f"task {entry['task_id'][:8]}  {entry['script']}"
        )
        click.echo(f"    {entry['text']}")


@click.command("tick")
@click.option("--now", "at", required=True, help="The instant, ISO 8601 with offset.")
def tick_command(at: str) -> None:
    """Run every job that is due at that instant once, then exit."""
    from outreach.clock import FixedClock
    from outreach.scheduler.jobs import apply_callbacks, tick

    rt = _rt()
    when = _instant(at)
    rt.clock = FixedClock(when)  # webhooks the simulator plays now see the same instant
    report = tick(rt, when)
    played = getattr(rt.channel, "run_pending", lambda: 0)()
    if played:  # their status callbacks wait in the inbox: apply them before exiting
        report.callbacks_applied += apply_callbacks(rt, when)
    for line in report.lines():
        click.echo(line)
    if played:
        click.echo(f"simulated provider callbacks played: {played}")


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler process (one leads; others wait and take over if it dies)."""
    from outreach.scheduler.runner import build

    click.echo("scheduler running; Ctrl-C stops it")
    build(_rt(), background=False).start()


@click.command("lint-scripts")
@click.option(
    "--approve",
    is_flag=True,
    help="Record the current texts as approved (refused while any rule fails).",
)
def lint_scripts_command(approve: bool) -> None:
    """Check every text in scripts_text/ against the safety rules (S2, S3, S9, S12), and that
    every protocol profile has the referral list its scripts name (config/referrals/)."""
    from outreach.domain.scripts import approve_library, default_root, lint_library
    from outreach.services.intake import referrals

    root = default_root()
    findings = [str(f) for f in (approve_library(root) if approve else lint_library(root))]
    # PRODUCT.md "Referrals are data": scripts name them, never invent them.
    findings += referrals.check_profiles()
    for finding in findings:
        click.echo(finding, err=True)
    if findings:
        raise click.ClickException(f"{len(findings)} finding(s); nothing is sent until fixed")
    click.echo("scripts approved" if approve else "all scripts pass the safety rules")


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option(
    "--head",
    "kept_head",
    metavar="SEQ:MAC",
    help="A head printed by an earlier run: also finds events cut off after it.",
)
def audit_verify(kept_head: str | None) -> None:
    """Walk the audit chain, recompute every MAC and report the first break (S10)."""
    from outreach.services.records.audit_chain import verify_chain

    rt = _rt()
    anchor = _kept_head(kept_head) if kept_head else None
    with rt.session() as session:
        report = verify_chain(session, rt.settings.secrets.audit_key, anchor=anchor)
    broken = report.first_break
    if broken is not None:
        click.echo(
            f"audit chain BROKEN at event {broken.seq}: {broken.kind} ({broken.why})", err=True
        )
        click.echo(f"{report.events} events verified before the break", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.events} events")
    if report.unchained:
        sealed = "the first chained event seals them"
        if report.unchained == report.events:
            sealed = "not sealed until the next event is written"
        click.echo(f"({report.unchained} from before the chain began; {sealed})")
    # The chain cannot see its own newest events cut off; a head kept elsewhere can (16.4.3).
    click.echo(f"head {report.head}  (keep it elsewhere; pass it as --head next time)")


def _kept_head(text: str) -> ChainHead:
    import re

    from outreach.services.records.audit_chain import ChainHead

    seq, sep, mac = text.partition(":")
    if not (sep and seq.isdigit() and re.fullmatch(r"[0-9a-fA-F]{64}", mac)):
        raise click.BadParameter("give the head as SEQ:MAC, as printed by audit verify")
    return ChainHead(int(seq), mac.lower())


@click.group("keys")
def keys_group() -> None:
    """Encryption keys."""


@keys_group.command("rotate")
@click.option(
    "--to",
    "newest",
    metavar="KEY_ID",
    help="Refuse unless this key comes first in OUTREACH_DATA_KEYS.",
)
@click.option(
    "--index-to",
    "newest_index",
    metavar="KEY_ID",
    help="Refuse unless this key comes first in OUTREACH_INDEX_KEYS.",
)
def keys_rotate(newest: str | None, newest_index: str | None) -> None:
    """Move every contact key, staff secret and phone index to the newest keys; resumable.

    First put the new key first in OUTREACH_DATA_KEYS or OUTREACH_INDEX_KEYS, keeping the
    old keys after it (a single OUTREACH_INDEX_KEY stays set beside OUTREACH_INDEX_KEYS), and
    restart the application. This then wraps contact data keys and seals staff secrets under
    the newest data key, and indexes every contact's phone again under the newest index key,
    500 contacts per transaction, each batch audited. Look-ups by phone try every index key
    meanwhile. A stopped run resumes where it stopped when run again. Counts by key id are
    printed before and after: remove an old key only once nothing is left under it.
    See docs/security/keys.md.
    """
    from outreach.services.records import key_rotation

    rt = _rt()
    with rt.session() as session:
        try:
            key_rotation.check_keyring(session, rt.vault.keyring, newest=newest)
            key_rotation.check_index_keys(session, rt.vault.index_keys, newest=newest_index)
        except ServiceError as exc:
            _fail(exc)
        counts = key_rotation.key_counts(session)
        _print_key_counts("before", counts)
        _rotate_sealed(rt, session, counts.old(rt.vault.keyring.primary.key_id))
        _rotate_indexes(rt, session, counts.old_indexes(rt.vault.index_keys.primary.key_id))
        _print_key_counts("after", key_rotation.key_counts(session))


def _rotate_sealed(rt: Runtime, session: Session, todo: int) -> None:
    from outreach.services.records import key_rotation

    keyring = rt.vault.keyring
    with click.progressbar(length=todo, label=f"sealing under {keyring.primary.key_id}") as bar:
        for moved in key_rotation.rotate_contact_keys(session, rt.vault, now=rt.clock.now()):
            bar.update(moved)
        bar.update(key_rotation.rotate_staff_secrets(session, keyring, now=rt.clock.now()))


def _rotate_indexes(rt: Runtime, session: Session, todo: int) -> None:
    from outreach.services.records import key_rotation

    newest = key_rotation.index_key_name(rt.vault.index_keys.primary.key_id)
    with click.progressbar(length=todo, label=f"indexing under {newest}") as bar:
        for moved in key_rotation.rotate_phone_indexes(session, rt.vault, now=rt.clock.now()):
            bar.update(moved)


def _print_key_counts(when: str, counts: key_rotation.KeyCounts) -> None:
    from outreach.services.records.key_rotation import index_key_name

    for name, counter in (
        ("contact keys", counts.contact_keys),
        ("staff secrets", counts.staff_secrets),
        ("phone indexes", Counter({index_key_name(k): n for k, n in counts.phone_indexes.items()})),
    ):
        shown = ", ".join(f"{k}: {n}" for k, n in sorted(counter.items())) or "none"
        click.echo(f"{when}: {name} by key id: {shown}")
