"""Time props are ``Duration`` s; AWS often wants them in whole days, hours or seconds within a range.

CDK converts a ``Duration`` with ``to_days()``/``to_seconds()``, which raise a JavaScript error for a
fraction (``Duration.hours(36).to_days()``); :func:`check_duration` finds that, and out-of-range values,
in Python first, naming the prop, the value and what is allowed.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from aws_cdk import Duration

from dbpatterns.common.validation import PropValidationError

Unit = Literal["seconds", "minutes", "hours", "days"]

_SECONDS = MappingProxyType({"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400})


def _shown(value: Duration) -> str:
    return str(value.to_string())


def _bound(value: Duration | None) -> str:
    return "" if value is None else _shown(value)


def check_duration(
    construct: str,
    prop: str,
    value: object,
    *,
    unit: Unit,
    minimum: Duration | None = None,
    maximum: Duration | None = None,
    optional: bool = False,
) -> None:
    """Fail unless ``value`` is a ``Duration`` of whole ``unit`` s between ``minimum`` and ``maximum``.

    ``optional`` lets ``None`` through; a token duration (known only at deploy time) passes.
    """
    if value is None and optional:
        return
    if not isinstance(value, Duration):
        raise PropValidationError(construct, prop, value, f"allowed: a Duration, e.g. Duration.{unit}(1)")
    if value.is_unresolved():
        return
    seconds = value.to_seconds(integral=False)
    step = _SECONDS[unit]
    if seconds % step:
        raise PropValidationError(construct, prop, _shown(value), f"allowed: a whole number of {unit}")
    too_short = minimum is not None and seconds < minimum.to_seconds(integral=False)
    too_long = maximum is not None and seconds > maximum.to_seconds(integral=False)
    if too_short or too_long:
        if minimum is not None and maximum is not None:
            allowed = f"allowed: {_bound(minimum)} to {_bound(maximum)}"
        elif minimum is not None:
            allowed = f"allowed: at least {_bound(minimum)}"
        else:
            allowed = f"allowed: at most {_bound(maximum)}"
        raise PropValidationError(construct, prop, _shown(value), f"{allowed}, in whole {unit}")


def whole(value: Duration, unit: Unit) -> int:
    """``value`` in whole ``unit`` s (call :func:`check_duration` first)."""
    return int(value.to_seconds(integral=False)) // _SECONDS[unit]
