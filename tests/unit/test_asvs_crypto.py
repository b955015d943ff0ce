"""Password hashing, password rules and key sizes against ASVS 5.0 and its Appendix C.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from outreach.security import totp
from outreach.security.crypto import NONCE_BYTES, new_data_key, seal
from outreach.security.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    WeakPassword,
    check_rules,
    hash_password,
    verify_password,
)
from outreach.settings import load_settings
from outreach.settings_error import SettingsError

# Appendix C, argon2id: (t, minimum m in KiB), always p = 1.
APPENDIX_C_ARGON2ID = {1: 47104, 2: 19456, 3: 12288}


def test_passwords_are_stored_with_argon2id_at_or_above_appendix_c() -> None:
    """ASVS 11.4.2: an approved password hash with parameters from current guidance."""
    stored = hash_password("a long passphrase to store")
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", stored)
    assert match, stored
    memory, time_cost, lanes = (int(g) for g in match.groups())
    assert lanes == 1
    assert memory >= APPENDIX_C_ARGON2ID[min(time_cost, 3)]
    assert verify_password(stored, "a long passphrase to store")
    assert not verify_password(stored, "a long passphrase to stor")
    assert hash_password("a long passphrase to store") != stored, "a random salt each time"


def test_the_length_rules_are_at_least_8_and_allow_at_least_64() -> None:
    """ASVS 6.2.1, 6.2.9: minimum 12 here (at least 8), maximum 128 (at least 64)."""
    assert 8 <= MIN_LENGTH <= 15
    assert MAX_LENGTH >= 64
    for too_short in ("", "x" * (MIN_LENGTH - 1)):
        with pytest.raises(WeakPassword):
            check_rules(too_short)
    for fine in ("x" * MIN_LENGTH, "y" * 64, "z" * MAX_LENGTH):
        check_rules(fine)
    with pytest.raises(WeakPassword):
        check_rules("x" * (MAX_LENGTH + 1))


def test_every_symmetric_key_has_256_bits_and_shorter_ones_are_refused(tmp_path: Path) -> None:
    """ASVS 11.2.3: at least 128 bits of security everywhere (AES-256, HMAC-SHA256 keys)."""
    assert len(new_data_key()) == 32
    short = base64.urlsafe_b64encode(os.urandom(16)).decode()
    for name, value in (
        ("OUTREACH_AUDIT_KEY", short),
        ("OUTREACH_INDEX_KEY", short),
        ("OUTREACH_DATA_KEYS", f"k1:{short}"),
    ):
        with pytest.raises(SettingsError, match="32 bytes"):
            load_settings({name: value}, instance_path=tmp_path)


def test_each_seal_draws_a_fresh_96_bit_nonce() -> None:
    """ASVS 11.3.2, 11.5.1: AES-GCM with a random nonce of the standard size, never reused."""
    key = new_data_key()
    sealed = [seal(key, "k1", b"same text", "t.c.1") for _ in range(200)]
    start = 2 + len("k1")
    nonces = {value[start : start + NONCE_BYTES] for value in sealed}
    assert NONCE_BYTES == 12
    assert len(nonces) == 200


def test_second_factor_seeds_are_fresh_160_bit_secrets() -> None:
    """ASVS 6.5.3, 11.5.1: TOTP seeds from the CSPRNG, 160 bits as RFC 4226 recommends."""
    seeds = {totp.new_secret() for _ in range(200)}
    assert len(seeds) == 200
    assert all(len(seed) * 8 == 160 for seed in seeds)
