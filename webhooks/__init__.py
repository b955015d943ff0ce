"""Twilio webhooks: a Flask blueprint of its own. Every route is signature-checked (issue 5)."""
