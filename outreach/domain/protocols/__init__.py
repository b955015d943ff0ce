"""Protocol profiles: which contacts a program event requires, by when, how often.

A profile in `config/protocols/<name>.toml` (format: config/protocols/README.md) says
what one program's standard asks for. The same engine runs every profile, and some
rules hold whatever a profile says: a declined contact person gets nothing but a duty to
warn a supervisor confirms (S1); a duty to warn is immediate, top priority, on every
permitted channel (S8); when the participant may be the victim there is one resources-only
contact (S11), except in a no-contact program, which makes nothing but a duty to warn; a
required contact takes at least two attempts (S5).
Voicemail is never a task's business: only the contact's permission and a neutral
script allow one (S3).

- `profile`: the shapes a profile file becomes (events' task rules, cadence, updates) and
  what a contact person allows;
- `engine`: the tasks an event, a check-in rhythm or a status update requires;
- `loading`: reading a profile file, with errors that name its file and line;
- `sections`: each section of a profile checked and turned into its shape;
- `toml_values`: typed values read out of a TOML table, naming the key that is wrong.
"""
