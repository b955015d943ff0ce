"""Pure domain logic: no Flask, SQLAlchemy or Twilio; functions that need the time take `now`."""
