"""The scheduler from the command line: `outreach plan` prints the call windows it proposes,
`outreach tick` runs what is due at one instant, `outreach scheduler` runs it as a process."""

from __future__ import annotations

import click

from outreach.cli.service_calls import current_runtime, instant


@click.command("plan")
@click.option("--from", "start", help="Start instant, ISO 8601 with offset (default: now).")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366))
@click.option("--json", "as_json", is_flag=True, help="Print {from, to, windows} as JSON.")
def plan_command(start: str | None, days: int, as_json: bool) -> None:
    """Print the proposed call windows of all open tasks (ids only, never contact data)."""
    import json
    from datetime import timedelta

    from outreach.services.scheduling.planning import plan_open_tasks

    rt = current_runtime()
    begin = instant(start) if start else rt.clock.now()
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


@click.command("tick")
@click.option("--now", "at", required=True, help="The instant, ISO 8601 with offset.")
def tick_command(at: str) -> None:
    """Run every job that is due at that instant once, then exit."""
    from outreach.clock import FixedClock
    from outreach.scheduler.jobs import apply_callbacks, tick

    rt = current_runtime()
    when = instant(at)
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
    build(current_runtime(), background=False).start()
