"""References between resources in CloudFormation templates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{(?!!)([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> Iterator[str]:
    """Logical IDs that ``value`` refers to through ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            yield argument
            return
        if key == "Fn::GetAtt":
            if isinstance(argument, str):
                yield argument.split(".")[0]
            elif isinstance(argument, list) and argument and isinstance(argument[0], str):
                yield argument[0]
                yield from references(argument[1:])
            return
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            for name in _SUB_VARIABLE.findall(text):
                if name not in variables:
                    yield name
            yield from references(variables)
            return
    for item in value.values():
        yield from references(item)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def stack_outputs(value: Any) -> Iterator[tuple[str, str]]:
    """(stack name, output name) of each ``Fn::GetStackOutput`` in ``value``."""
    if isinstance(value, list):
        for item in value:
            yield from stack_outputs(item)
    elif isinstance(value, dict):
        argument = value.get("Fn::GetStackOutput")
        if isinstance(argument, dict) and len(value) == 1:
            yield str(argument.get("StackName")), str(argument.get("OutputName"))
            return
        for item in value.values():
            yield from stack_outputs(item)


def imports(value: Any) -> Iterator[str]:
    """Export names of each ``Fn::ImportValue`` with a literal name in ``value``."""
    if isinstance(value, list):
        for item in value:
            yield from imports(item)
    elif isinstance(value, dict):
        argument = value.get("Fn::ImportValue")
        if isinstance(argument, str) and len(value) == 1:
            yield argument
            return
        for item in value.values():
            yield from imports(item)
