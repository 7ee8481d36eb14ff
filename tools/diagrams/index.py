"""Indexes over the synthesized stacks: which resource is drawn as which node, and what a template
value refers to, in its own stack or in another."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tools.diagrams.rules import FOLD_INTO, MAIN_TYPES
from tools.diagrams.sources import StackSource
from tools.diagrams.template import imports, references, stack_outputs, strings

#: Properties that hold a resource's physical name, matched against names in other stacks' ARNs.
NAME_PROPERTIES = (
    "BackupVaultName",
    "BucketName",
    "DBClusterIdentifier",
    "DBInstanceIdentifier",
    "FunctionName",
    "GlobalClusterIdentifier",
    "QueueName",
    "ReplicationGroupId",
    "StateMachineName",
    "StreamName",
    "TableName",
    "TopicName",
)
_ARN_SEPARATORS = re.compile(r"[:/]")


@dataclass(frozen=True, order=True)
class NodeRef:
    """A main resource of some stack."""

    stack: str
    logical_id: str


class AppIndex:
    """Indexes over every stack, for resolving references that cross stacks."""

    def __init__(self, sources: Iterable[StackSource]) -> None:
        self.stacks = {source.name: StackIndex(source) for source in sources}
        self.exports: dict[str, NodeRef] = {}
        self.names: dict[str, NodeRef] = {}
        for index in self.stacks.values():
            outputs: Mapping[str, Any] = index.source.template.get("Outputs", {})
            for output in outputs.values():
                export = output.get("Export", {}).get("Name")
                target = index.first_main(references(output.get("Value")))
                if isinstance(export, str) and target:
                    self.exports[export] = target
            for logical_id, resource in index.resources.items():
                for prop in NAME_PROPERTIES:
                    name = resource.get("Properties", {}).get(prop)
                    main = index.main_of(logical_id)
                    if isinstance(name, str) and main and len(name) >= 3:
                        self.names.setdefault(name, main)

    def targets(self, stack: str, value: Any) -> Iterator[NodeRef]:
        """The main resources ``value`` (part of ``stack``'s template) refers to, in any stack."""
        index = self.stacks[stack]
        for logical_id in references(value):
            main = index.main_of(logical_id)
            if main:
                yield main
        for stack_name, output_name in stack_outputs(value):
            other = self.stacks.get(stack_name)
            output = other.source.template.get("Outputs", {}).get(output_name) if other else None
            if other and output:
                yield from filter(None, (other.main_of(ref) for ref in references(output.get("Value"))))
        for export in imports(value):
            if export in self.exports:
                yield self.exports[export]
        for text in strings(value):
            for part in _ARN_SEPARATORS.split(text):
                target = self.names.get(part)
                if target and target.stack != stack:
                    yield target


_SINGLETON_ID = re.compile(r"[0-9a-f]{32}$")


class StackIndex:
    def __init__(self, source: StackSource) -> None:
        self.source = source
        self.resources: Mapping[str, Any] = source.resources
        self._main: dict[str, NodeRef | None] = {}

    def type_of(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return str(resource["Type"]) if resource else None

    def props(self, logical_id: str) -> Mapping[str, Any]:
        props: Mapping[str, Any] = self.resources[logical_id].get("Properties", {})
        return props

    def main_of(self, logical_id: str, seen: frozenset[str] = frozenset()) -> NodeRef | None:
        """The main resource ``logical_id`` is or folds into, None for an omitted one."""
        if logical_id in self._main:
            return self._main[logical_id]
        resource_type = self.type_of(logical_id)
        result: NodeRef | None = None
        if resource_type is None or logical_id in seen or self.is_cdk_internal(logical_id):
            result = None
        elif resource_type in MAIN_TYPES and not (
            resource_type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in self.props(logical_id)
        ):
            result = NodeRef(self.source.name, logical_id)
        elif resource_type in FOLD_INTO:
            owner_value = self.props(logical_id).get(FOLD_INTO[resource_type])
            result = next(
                (
                    owner
                    for ref in references(owner_value)
                    if (owner := self.main_of(ref, seen | {logical_id})) is not None
                ),
                None,
            )
        self._main[logical_id] = result
        return result

    def is_cdk_internal(self, logical_id: str) -> bool:
        """True for aws-cdk-lib's own helpers: custom-resource handlers and the singleton functions it
        adds at the stack's top level under an ID ending in a UUID (``LogRetention<uuid>``)."""
        path = self.source.paths.get(logical_id, "")
        if _SINGLETON_ID.search(path.split("/")[0]):
            return True
        return any(path == handler or path.startswith(handler + "/") for handler in self.source.cdk_handlers)

    def first_main(self, logical_ids: Iterable[str]) -> NodeRef | None:
        return next(filter(None, (self.main_of(ref) for ref in logical_ids)), None)

    def folded_into(self, main: NodeRef) -> list[str]:
        """Logical IDs of the resources that fold into ``main``, sorted."""
        return sorted(
            logical_id
            for logical_id in self.resources
            if logical_id != main.logical_id and self.main_of(logical_id) == main
        )

    def of_type(self, *types: str) -> list[str]:
        return sorted(
            logical_id for logical_id, resource in self.resources.items() if resource["Type"] in types
        )
