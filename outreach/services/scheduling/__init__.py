"""When to call: the planner's input, each task's stored plan of call windows, program time zones,
the languages filter and the liaison's queue with its claim lease.
"""
