"""The people contacted: sealed records and audited reveals, her word on channels and times, opting
back in, releases of information, compelled disclosures and the one onward path.
"""
