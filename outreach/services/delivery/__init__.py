"""Everything outward and what comes back: calls, texts and letters to a contact (whom they
reach and whether they may go, then claim, send and settle), sending the texts that are due,
provider callbacks and the answers a call decides at once, the webhook inbox, inbound texts, the
outbox, provider failures and records, and reconciling deliveries whose callbacks stopped or whose
sends never settled.
"""
