"""Everything outward and what comes back: sending calls, texts and letters, provider callbacks,
the webhook inbox, inbound texts, the outbox, provider failures and records, and reconciling
deliveries whose callbacks stopped.
"""
