"""Working a task: the attempt log, closing and corrections, recording under the claim, the task
page, the live call's progress, answered calls and letters.
"""
