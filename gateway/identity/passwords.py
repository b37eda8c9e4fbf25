"""What a password must contain (SPEC: at least 10 characters of at least 3 of the 4 classes, not
the username; both numbers are settings), and the one-time passwords an admin's reset hands out."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from kernel.errors import InvalidInput

CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits)


def classes_in(password: str) -> int:
    """How many of upper case, lower case, digits and anything else the password uses."""
    found = [any(c in chars for c in password) for chars in CLASSES]
    found.append(any(not any(c in chars for chars in CLASSES) for c in password))
    return sum(found)


@dataclass(frozen=True)
class PasswordRules:
    min_length: int
    min_classes: int

    @classmethod
    def of(cls, settings) -> PasswordRules:
        return cls(settings.password_min_length, settings.password_min_classes)

    def check(self, password: str, username: str) -> None:
        """Raises a 422 `weak-password` problem naming every rule the password breaks."""
        broken = []
        if len(password) < self.min_length:
            broken.append(f"at least {self.min_length} characters")
        if classes_in(password) < self.min_classes:
            broken.append(f"at least {self.min_classes} of upper case, lower case, digits and other characters")
        if password.casefold() == username.casefold():
            broken.append("to differ from the username")
        if broken:
            raise InvalidInput("the password needs " + "; ".join(broken), slug="weak-password",
                               title="The password is too weak")

    def temporary(self) -> str:
        """A random password that passes these rules (and any stricter setting up to 4 classes)."""
        chars = [secrets.choice(c) for c in CLASSES] + ["-"]
        chars += list(secrets.token_urlsafe(max(12, self.min_length)))
        secrets.SystemRandom().shuffle(chars)
        return "".join(chars)
