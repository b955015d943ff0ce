"""The record kept about the records: the audit log and its keyed chain, retention and purge, key
rotation and backups.
"""
