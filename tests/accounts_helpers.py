"""Helpers for the account tests: the emailed links as a person's inbox shows them."""

import re
from urllib.parse import parse_qs, urlsplit

from django.core import mail

_LINK = re.compile(r"https?://\S+#uid=\S+")


def outbox_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def link_in(message) -> dict[str, str]:
    """The {uid, token} of the one link in an email, as the frontend page reads them from the fragment."""
    (link,) = _LINK.findall(message.body)
    return {name: values[0] for name, values in parse_qs(urlsplit(link).fragment).items()}


def last_link_to(address: str) -> dict[str, str]:
    """The newest emailed link to the address (security notices, which come too, carry none)."""
    return link_in([message for message in outbox_to(address) if _LINK.search(message.body)][-1])


STRONG_PASSWORD = "correct horse battery staple"
