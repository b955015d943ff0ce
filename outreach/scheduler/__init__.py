"""The scheduler: APScheduler is only the clock; the database holds all due work.

`jobs.tick(runtime, now)` runs everything due at `now` once; `runner` wakes it every 30 s in
one leader process (a PostgreSQL advisory lock, or a lock file beside the SQLite database).
"""
