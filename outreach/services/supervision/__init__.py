"""What supervisors see and confirm: the attempt log and its export, sign-offs, the compliance
dashboard, escalation of overdue tasks, duty to warn with its holds, on-call settings and notices.
"""
