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
from django.utils.translation import gettext_lazy as _

from core.errors import Problem

# RFC 5321's limit on a path, and the column's length (core.models.User.email).
EMAIL_MAX_LENGTH = 254


class EmailInvalid(Problem):
    status = 422
    code = "email_invalid"
    title = _("The email address is not valid")


def canonical_email(address: str) -> str:
    """`address` in canonical form, or EmailInvalid."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise EmailInvalid(_("An email address has the form name@domain."))
    if not local.isascii():
        raise EmailInvalid(_("The part before the @ must be ASCII."))
    if '"' in local or "\\" in local:
        # A quoted local part ("owner"@) is another spelling of the same mailbox: one address, one account.
        raise EmailInvalid(_("The part before the @ cannot be quoted."))
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise EmailInvalid(_("The domain is not a valid host name.")) from None
    canonical = f"{local.lower()}@{ascii_domain}"
    if len(canonical) > EMAIL_MAX_LENGTH:
        # Checked on the stored form: an internationalised domain grows in punycode.
        raise EmailInvalid(
            _("The address is longer than %(limit)s characters once its domain is encoded.")
            % {"limit": EMAIL_MAX_LENGTH}
        )
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
