"""One canonical form for email addresses, so that every comparison is exact equality.

Comparing case-insensitively in the database is not one rule but several: PostgreSQL's
UPPER and LOWER fold Unicode differently from each other and from Python (dotless i,
dotted capital I, sharp s), SQLite folds ASCII only. So an address is canonicalised once,
before it is stored or looked up: the local part lower-cased, the domain in its IDNA (punycode) form, and a local
part with anything but ASCII refused, since its case folding has no single answer and it
is where look-alike addresses hide (`adm\u0131n@`, with a dotless i, is not `admin@`).
"""

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.errors import Problem


class EmailInvalid(Problem):
    status = 422
    code = "email_invalid"
    title = "The email address is not valid"


def canonical_email(address: str) -> str:
    """`address` in canonical form, or EmailInvalid."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise EmailInvalid("An email address has the form name@domain.")
    if not local.isascii():
        raise EmailInvalid("The part before the @ must be ASCII.")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise EmailInvalid("The domain is not a valid host name.") from None
    canonical = f"{local.lower()}@{ascii_domain}"
    try:
        validate_email(canonical)
    except ValidationError:
        raise EmailInvalid() from None
    return canonical


def canonical_email_or_none(address: str | None) -> str | None:
    """The canonical form of an address, or None for no address or one that cannot be canonical."""
    if not address:
        return None
    try:
        return canonical_email(address)
    except EmailInvalid:
        return None
