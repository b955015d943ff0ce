"""Staff and what they may do: accounts, sign-in and sessions, the second factor, the admin's use
cases, API tokens and the one access check.
"""
