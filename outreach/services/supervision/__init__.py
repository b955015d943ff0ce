"""What supervisors see and confirm: the attempt log, its export and its corrections, sign-offs,
the compliance dashboard, escalation of overdue tasks, duty to warn with its holds, on-call
settings and notices.
"""
