"""The call-window planner: when is it safe to call a contact person about a task (S4).

Pure: no clock, no database. Every instant is timezone-aware and every answer is in UTC.
A window is proposed only where it is inside calling hours in *every* candidate time zone
of the contact person, and either inside a group session the participant is (as far as
we know) attending, minus settle-in and leave-early buffers, or inside a time the contact
person named as safe. Whatever is left out for a reason a liaison should see is reported
as `Skipped`, so the UI can say "participant not in group" rather than stay silent.

- `time_zones`: the zones she may be in, and local wall-clock hours as UTC in all of them;
- `group_sessions`: when his group meets, from its recurrence rule (RFC 5545);
- `safe_times`: the weekly times she named as safe;
- `inputs`: what the planner is told about a task, its contact person and the rules;
- `windows`: what it answers: call windows, and what it left out and why;
- `planner`: the window proposal itself, ranked.
"""
