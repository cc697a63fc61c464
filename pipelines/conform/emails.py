"""E-mail addresses: lower-cased, trimmed, checked by a simple pattern; test and placeholder ones invalid."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._text import remove_whitespace, to_text


@dataclass(frozen=True, slots=True)
class EmailResult:
    email: str | None
    domain: str | None
    is_valid: bool


_PATTERN = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$"
)
# RFC 2606 / 6761 reserved names and the domains people type when they have to type something.
_PLACEHOLDER_DOMAINS = frozenset(
    {
        "example.com",
        "example.org",
        "example.net",
        "example.cn",
        "test.com",
        "test.cn",
        "test.org",
        "localhost",
        "invalid",
        "email.com",
        "mail.com.cn",
        "none.com",
        "null.com",
        "noemail.com",
        "abc.com",
    }
)
_PLACEHOLDER_TLDS = (".test", ".example", ".invalid", ".localhost", ".local")
_PLACEHOLDER_USERS = frozenset(
    {"test", "none", "null", "noreply", "no-reply", "nomail", "noemail", "xxx", "na"}
)


def conform_email(raw: str | None) -> EmailResult:
    text = to_text(raw)
    if text is None:
        return EmailResult(None, None, False)
    email = remove_whitespace(text).lower().replace("。", ".").removeprefix("mailto:")
    user, _, domain = email.rpartition("@")
    valid = (
        bool(_PATTERN.match(email))
        and domain not in _PLACEHOLDER_DOMAINS
        and not domain.endswith(_PLACEHOLDER_TLDS)
        and user not in _PLACEHOLDER_USERS
    )
    return EmailResult(email, domain or None, valid)
