"""The only way anything reaches a contact person: one small protocol, three adapters.

`twilio` talks to Twilio; `simulator` plays Twilio's side on this machine, webhooks included;
`console` prints what would be sent with numbers masked. `build_channel` picks one from
OUTREACH_CHANNEL. The safety rules are checked by `services.deliveries` before any adapter
is called, and the adapters add none of their own text: they carry what was rendered.
"""
