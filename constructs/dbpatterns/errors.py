"""The library's exception types (no aws_cdk import, usable from CLIs).

:class:`PropValidationError` is the one type for invalid props and inputs; :class:`DependencyError`
says that a Python distribution a construct copies into a Lambda layer is not installed as pinned.
"""

from __future__ import annotations

from typing import Any


class PropValidationError(ValueError):
    """A prop has a value the construct (or planner) cannot use.

    The message names the construct, the prop, the value given and what is allowed.
    """

    def __init__(self, construct: str, prop: str, value: Any, allowed: str) -> None:
        self.construct = construct
        self.prop = prop
        self.value = value
        self.allowed = allowed
        super().__init__(f"{construct}: invalid {prop}={value!r}; {allowed}")


class DependencyError(ImportError):
    """A distribution a construct builds a Lambda layer from is missing, another version, or altered.

    The message names the construct, the distribution, what was found and the extra to install
    (e.g. ``pip install "dbpatterns[dax]"``).
    """
