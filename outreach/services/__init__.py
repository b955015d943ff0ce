"""Use cases: each takes a session and adapters, owns its transaction and writes its audit rows."""
