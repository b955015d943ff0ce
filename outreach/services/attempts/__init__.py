"""Working a task: the task itself (opening it, loading it to work, the windows its attempts fall
in), the attempt log, closing and reopening, recording under the claim, the task page and its call
panel, the live call's progress, answered calls and letters.
"""
