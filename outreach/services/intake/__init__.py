"""Program news reaching tasks: events, dated events, his status, programs, groups, attendance and
absences, the facilitator's roster, CSV imports, texted check-ins and the referrals a program's
scripts name.
"""
