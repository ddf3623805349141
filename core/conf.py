"""The one form of every app's settings: an `AppSettings` model, read through one cached accessor.

Each app's `conf.py` declares its settings as a subclass of `AppSettings`: every field names
the Django setting it is read from as its alias (`Field(alias="JWT_ACCESS_TTL")`), and states
what the setting may hold in its type and constraints (`Field(ge=1)`, a `Literal` or an enum,
`Seconds` for a number of seconds read as a timedelta); a rule between settings is a
`model_validator`. `from_django_settings()` reads the aliased settings and validates them, and
a value refused raises ImproperlyConfigured naming the setting, never its value's secret parts
(a secret's field is `repr=False`). A value derived from the fields is a property. The providers'
settings (social.providers.base) are the same form.

An app's system check builds its settings and reports the refusal (tokens.E001), or, where each
setting's fault has its own id, reports them all at once with `fault_errors(Model, ids)`.

The accessor is `settings_accessor(Model.from_django_settings)`, or a function wrapped in it
that passes what no setting holds. It caches the result until a setting changes
(override_settings, pytest-django's `settings` fixture), so hot paths pay a dict lookup, not a
validation, and tests still see the values they set.
"""

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated, Any, Self, TypeVar

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import ValidationError as SettingsInvalid
from pydantic_core import ErrorDetails, PydanticCustomError

T = TypeVar("T")
F = TypeVar("F", bound=functools._lru_cache_wrapper)

_accessors: list[functools._lru_cache_wrapper] = []


def settings_accessor(build: Callable[[], T]) -> Callable[[], T]:
    return forget_when_settings_change(functools.cache(build))


def forget_when_settings_change(cached: F) -> F:
    """Registers any functools cache that depends on settings, to be cleared when one changes."""
    _accessors.append(cached)
    return cached


def _forget_cached_settings(**_kwargs: object) -> None:
    for accessor in _accessors:
        accessor.cache_clear()


setting_changed.connect(_forget_cached_settings, dispatch_uid="core.conf.forget_cached_settings")


class AppSettings(BaseModel):
    """An app's settings, validated as declared: see the module's docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def from_django_settings(cls, **values: Any) -> Self:
        """The settings the field aliases name, with `values` for the fields no setting holds;
        ImproperlyConfigured naming the setting at fault."""
        return cls.validated(cls._read() | values)

    @classmethod
    def validated(cls, values: dict[str, Any], *, where: str = "") -> Self:
        """`values` validated; an error names `where` (an entry of a JSON setting) or the field's setting."""
        try:
            return cls.model_validate(values)
        except SettingsInvalid as exc:
            raise ImproperlyConfigured(_refusal(exc.errors()[0], where)) from None

    @classmethod
    def faults(cls) -> dict[str, str]:
        """Every setting `from_django_settings` would refuse, with the refusal: for a system check that
        reports each fault at once, under its setting's own id."""
        try:
            cls.model_validate(cls._read())
        except SettingsInvalid as exc:
            return {str(error["loc"][0]) if error["loc"] else "": _refusal(error, "") for error in exc.errors()}
        return {}

    @classmethod
    def _read(cls) -> dict[str, Any]:
        return {field.alias: getattr(settings, field.alias) for field in cls.model_fields.values() if field.alias}

    def setting_name(self, field: str) -> str:
        """What an operator sets to give `field` a value."""
        return type(self).model_fields[field].alias or field


def fault_errors(model: type[AppSettings], ids: Mapping[str, str]) -> list[CheckMessage]:
    """The faults of `model`'s settings that `ids` names, as system check errors under their ids."""
    return [Error(message, id=ids[setting]) for setting, message in model.faults().items() if setting in ids]


def _refusal(error: ErrorDetails, where: str) -> str:
    # Named after the setting (the field's alias) or `where`, then the path inside it; a rule on
    # the whole model (between settings) has no path, and its message names its settings.
    path = list(error["loc"])
    if not where and path:
        where = str(path.pop(0))
    where += "".join(f"[{part!r}]" for part in path)
    return f"{where}: {error['msg']}." if where else f"{error['msg']}."


def refused(message: str, **context: str) -> PydanticCustomError:
    """A rule's refusal: `message` (a template of `context`'s keys) names the settings when the rule
    is between several, and never echoes a value that may be a secret."""
    return PydanticCustomError("setting", message, context or None)


def _in(unit: str) -> Callable[[Any], Any]:
    def duration(value: Any) -> Any:
        # A number of `unit`s; anything else is left to the timedelta type to refuse.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(**{unit: value})
        return value

    return duration


# A setting that counts seconds (minutes, days), read as a timedelta.
Seconds = Annotated[timedelta, BeforeValidator(_in("seconds"))]
Minutes = Annotated[timedelta, BeforeValidator(_in("minutes"))]
Days = Annotated[timedelta, BeforeValidator(_in("days"))]


def _zero_is_none(value: Any) -> Any:
    return value or None


# A setting whose 0 means "none" (off, or a default decided elsewhere), after its own constraints.
ZeroIsNone = AfterValidator(_zero_is_none)


class CoreSettings(AppSettings):
    # Throttle scope -> Ninja rate ("60/min"); an empty rate means no limit.
    throttle_rates: dict[str, str] = Field(alias="API_THROTTLE_RATES")
    # How many proxies of ours sit in front of the server (core.clients).
    num_proxies: int = Field(alias="API_NUM_PROXIES", ge=0)
    # How many leading bits of an IPv6 address name one client for the per-IP limits (core.clients).
    ipv6_prefix: int = Field(alias="API_THROTTLE_IPV6_PREFIX", ge=1, le=128)
    # The operator's word that one process serves the API, so a per-process cache is complete (core.checks).
    single_process: bool = Field(alias="API_SINGLE_PROCESS")
    # Requests per process that may use the database at once (core.bulkhead); None (0): the
    # server's threads minus two.
    database_request_concurrency: Annotated[Annotated[int, Field(ge=0)] | None, ZeroIsNone] = Field(
        alias="DATABASE_REQUEST_CONCURRENCY"
    )
    # How long a task may be RUNNING before its worker counts as dead and the task is run again (core.tasks).
    tasks_stranded_after: Seconds = Field(alias="TASKS_STRANDED_AFTER")


core_settings = settings_accessor(CoreSettings.from_django_settings)
