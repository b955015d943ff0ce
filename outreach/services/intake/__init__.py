"""Program news reaching tasks: events, dated events, his status, programs, groups, attendance and
absences, the facilitator's roster, CSV imports, check-ins (the ones her rhythm opens, and the
texted ones) and the referrals a program's scripts name.
"""
