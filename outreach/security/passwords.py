"""Password hashing with argon2id and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommended memory and passes (64 MiB, 3), far above ASVS 5.0 Appendix C's and
# OWASP's minimum (19 MiB, 2 passes), in one lane as Appendix C's table has it.
_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
MIN_LENGTH = 12
MAX_LENGTH = 128
# A password hash to verify against when the account does not exist, so timing tells nothing.
_DUMMY_HASH = _HASHER.hash("no such account, but the same work")


class WeakPassword(ValueError):
    """The password does not meet the rules; the message says which rule."""


def check_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_rules(password)
    return _HASHER.hash(password)


def needs_rehash(stored_hash: str) -> bool:
    """True for a hash made under older settings: made again at its owner's next sign-in."""
    return _HASHER.check_needs_rehash(stored_hash)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
