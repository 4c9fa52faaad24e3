"""Password hashing (argon2id, still verifying older werkzeug hashes) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from metamodel.errors import Problem, RecordInvalid

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # far above any real password; stops megabyte "passwords" from costing CPU
# zxcvbn's score (0-4) estimates guesses with dictionaries, keyboard patterns, repeats and dates;
# 3 means about 10^8 guesses or more ("safely unguessable" online), which is what OWASP ASVS asks.
MIN_STRENGTH = 3
_STRENGTH_CHARS = 100  # zxcvbn's work grows with length; a longer password is judged by its start
# The 30,000 most common leaked passwords (zxcvbn's own list), refused outright whatever their score.
_COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 50 ms per check here,
# and little memory per concurrent sign-in on many workers. Hashes made with other parameters are
# replaced at the next sign-in (needs_rehash), so raising these later upgrades users gradually.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_dummy_hash: list[str] = []  # made on first use, not at import: start-up stays fast
_WERKZEUG_PREFIXES = ("scrypt:", "pbkdf2:")


def hash_password(password: str) -> str:
    """Return a salted argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (argon2, or a werkzeug hash from before argon2)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    if stored.startswith(_WERKZEUG_PREFIXES):
        return check_password_hash(stored, password)
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` should be replaced by a fresh argon2id hash after a successful sign-in."""
    if stored.startswith(_WERKZEUG_PREFIXES):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def spend_verification_time(password: str) -> None:
    """Do the work of one verification, so a missing user answers as slowly as a wrong password."""
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash("a password nobody has"))
    verify_password(_dummy_hash[0], password)


def password_problems(password: str, username: str) -> list[Problem]:
    """Return what is wrong with ``password`` as the password of ``username`` (empty when it is fine)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            Problem("password", f"must be at least {MIN_PASSWORD_LENGTH} characters", "min_length")
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(
            Problem("password", f"must be at most {MAX_PASSWORD_LENGTH} characters", "max_length")
        )
    if username and password.strip().lower() == username.lower():
        problems.append(Problem("password", "must not be the user name", "equals_username"))
    if not problems:
        problems.extend(_strength_problems(password, username))
    return problems


def _strength_problems(password: str, username: str) -> list[Problem]:
    # Asked only of a password that passes the simple rules, so each refusal names one clear reason.
    if password.lower() in _COMMON_PASSWORDS:
        return [Problem("password", "is one of the most commonly used passwords", "common")]
    score = zxcvbn(password[:_STRENGTH_CHARS], user_inputs=[username] if username else [])["score"]
    if score < MIN_STRENGTH:
        return [Problem("password", "is too easy to guess: use a longer phrase of unrelated words", "weak")]
    return []


def check_password_policy(password: str, username: str) -> None:
    """Raise RecordInvalid (naming each problem) unless ``password`` meets the policy."""
    problems = password_problems(password, username)
    if problems:
        raise RecordInvalid("the password does not meet the policy", problems)
