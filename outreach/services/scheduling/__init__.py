"""When to call and when to text: the planner's input, each task's stored plan of call windows,
program time zones, the languages filter, the liaison's queue with its claim lease, and the
heads-up texts planned before a call (consented reminders).
"""
