"""The rules every new password must pass, wherever it is set: sign-up, an admin creating a user,
a password change, and the command line. Logins check nothing here: a password set before a rule
changed still logs in.

The common passwords are the 30,000 most used ones (common_passwords.txt, whose header names its
source and licence), compared without regard to case.
"""

import functools
from pathlib import Path

MIN_LENGTH = 8
# The login form's bound too: longer passwords could never log in.
MAX_LENGTH = 4096
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


class WeakPassword(ValueError):
    """A password that breaks a rule; `rule` names it (e.g. "password_too_short")."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


@functools.cache
def common_passwords() -> frozenset[str]:
    """Read once, on first use: a process that never sets a password never loads the list."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password(password: str) -> None:
    """Raise WeakPassword naming the first rule the password breaks."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("password_too_short", f"the password is too short: use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword("password_too_long", f"the password is too long: use at most {MAX_LENGTH} characters")
    if password.lower() in common_passwords():
        raise WeakPassword(
            "password_too_common", "the password is too common: it is one of the 30,000 most used passwords"
        )
