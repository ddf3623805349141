"""The providers an operator configures by a discovery URL, in SOCIAL_OIDC_PROVIDERS_JSON (the dev one too).

Each entry is a JSON object of the fields below; the name is its key.
"""

import re
from collections.abc import Collection
from typing import Annotated, Any, Self

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import Field, Strict, model_validator

from social.providers.base import Endpoint
from social.providers.oidc import OIDCSettings

# Named after the variable an operator sets: settings.SOCIAL_OIDC_PROVIDERS is its parsed value.
SETTING = "SOCIAL_OIDC_PROVIDERS_JSON"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_DEFAULT_SCOPES = ("openid", "email", "profile")

_Text = Annotated[str, Strict()]
_Items = tuple[Annotated[str, Strict(), Field(min_length=1)], ...]


class ConfiguredOIDCSettings(OIDCSettings):
    """One entry: only `discovery_url` is required; `display_name` defaults to the name."""

    name: _Text
    display_name: _Text = ""
    client_id: _Text = ""
    client_secret: _Text = Field(default="", repr=False)
    discovery_url: Annotated[Endpoint, Strict()]
    scopes: _Items = _DEFAULT_SCOPES
    client_ids: _Items = ()
    trust_email: Annotated[bool, Strict()] = False
    require_nonce: Annotated[bool, Strict()] = False

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, values: dict[str, Any]) -> dict[str, Any]:
        # An entry's empty display_name and scopes mean "the default".
        return {
            **values,
            "display_name": values.get("display_name") or values["name"],
            "scopes": values.get("scopes") or _DEFAULT_SCOPES,
        }

    @classmethod
    def from_entries(cls, *, taken: Collection[str]) -> list[Self]:
        """Every entry of SOCIAL_OIDC_PROVIDERS_JSON; none may take a name in `taken` (the built-in ones)."""
        entries = settings.SOCIAL_OIDC_PROVIDERS
        if not isinstance(entries, dict):
            raise ImproperlyConfigured(f'{SETTING} must be a JSON object: {{"<name>": {{...}}, ...}}.')
        configs = []
        for name, entry in entries.items():
            where = f"{SETTING}[{name!r}]"
            if not _NAME.match(name) or name in taken:
                raise ImproperlyConfigured(
                    f"{where}: the name must be a lower-case slug other than {', '.join(taken)}."
                )
            # Only the fields an entry may set: `name` is its key, `extra_issuers` Google's alone.
            fields = set(cls.model_fields) - {"name", "extra_issuers"}
            if not isinstance(entry, dict) or not fields.issuperset(entry):
                raise ImproperlyConfigured(f"{where} must be a JSON object of some of {sorted(fields)}.")
            configs.append(cls.validated({**entry, "name": name}, where=where))
        return configs
