"""How the user database keeps passwords, as the original's user service does: the hex SHA-256 of the
password followed by a salt of 32 random letters and digits."""

from __future__ import annotations

import hashlib
import random

SALT_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
SALT_LENGTH = 32

_random = random.SystemRandom()


def password_hash(password: str, salt: str) -> str:
    return hashlib.sha256((password + salt).encode()).hexdigest()


def new_salt() -> str:
    return "".join(_random.choices(SALT_ALPHABET, k=SALT_LENGTH))
