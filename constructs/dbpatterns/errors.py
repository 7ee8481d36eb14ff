"""The one exception type for invalid props and inputs (no aws_cdk import, usable from CLIs)."""

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
