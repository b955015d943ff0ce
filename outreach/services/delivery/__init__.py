"""Everything outward and what comes back: sending calls, texts and letters, planning heads-up
reminders and sending the texts that are due, provider callbacks, the webhook inbox, inbound
texts, the outbox, provider failures and records, and reconciling deliveries whose callbacks
stopped or whose sends never settled.
"""
