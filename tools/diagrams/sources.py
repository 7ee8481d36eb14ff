"""What the generator reads from a synthesized app: templates, logical ID -> construct path (from the
tree and the stack metadata), the classes of the constructs near the top of each stack."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack
from constructs import IConstruct


@dataclass(frozen=True)
class ConstructClass:
    """The class of a construct: its name, and whether it comes from aws-cdk-lib (an L1/L2)."""

    name: str
    from_cdk: bool


@dataclass(frozen=True)
class StackSource:
    """Everything the graph of one stack is computed from."""

    name: str
    region: str
    template: Mapping[str, Any]
    #: logical ID -> construct path relative to the stack (``Orders/Processor/Resource/Resource``)
    paths: Mapping[str, str]
    #: construct path relative to the stack -> class, for the constructs near the top of the tree
    classes: Mapping[str, ConstructClass]
    #: construct paths of aws-cdk-lib's own custom-resource handlers (marked so in the stack metadata)
    cdk_handlers: frozenset[str] = frozenset()

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.template.get("Resources", {})
        return resources


#: How deep below a stack construct classes are read (clusters are drawn at most this deep).
CLASS_DEPTH = 3


def stack_sources(app: App) -> list[StackSource]:
    """The sources of every stack of ``app``, synthesizing it if it has not been (synth is cached)."""
    assembly = app.synth()
    assembly_dir = Path(assembly.directory)
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    tree = _read_tree(assembly_dir, manifest)
    sources = []
    for child in app.node.children:
        if not isinstance(child, Stack):
            continue
        name = child.stack_name
        paths = dict(_logical_id_paths(tree["children"][child.node.id], ""))
        handlers: set[str] = set()
        prefix = f"/{child.node.id}/"
        for path, entries in _stack_metadata(assembly_dir, manifest["artifacts"][child.artifact_id]).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:logicalId":
                    paths.setdefault(entry["data"], path.removeprefix(prefix))
                elif entry["type"].startswith("aws:cdk:is-custom-resource-handler"):
                    handlers.add(path.removeprefix(prefix))
        sources.append(
            StackSource(
                name=name,
                region=str(child.region),
                template=assembly.get_stack_by_name(name).template,
                paths=paths,
                classes=dict(_construct_classes(child, "", 0)),
                cdk_handlers=frozenset(handlers),
            )
        )
    return sorted(sources, key=lambda source: source.name)


def _read_tree(assembly_dir: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    tree_file = next(
        artifact["properties"]["file"]
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "cdk:tree"
    )
    tree: dict[str, Any] = json.loads((assembly_dir / tree_file).read_text())["tree"]
    return tree


def _stack_metadata(assembly_dir: Path, artifact: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    metadata: dict[str, list[dict[str, Any]]] = dict(artifact.get("metadata", {}))
    if "additionalMetadataFile" in artifact:
        metadata |= json.loads((assembly_dir / artifact["additionalMetadataFile"]).read_text())
    return metadata


def _logical_id_paths(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
    logical_id = node.get("attributes", {}).get("aws:cdk:cloudformation:logicalId")
    if logical_id:
        yield logical_id, path
    for child_id, child in node.get("children", {}).items():
        yield from _logical_id_paths(child, f"{path}/{child_id}" if path else child_id)


def _construct_classes(construct: IConstruct, path: str, depth: int) -> Iterator[tuple[str, ConstructClass]]:
    cls = type(construct)
    yield path, ConstructClass(cls.__name__, cls.__module__.split(".")[0] == "aws_cdk")
    if depth < CLASS_DEPTH:
        for child in construct.node.children:
            yield from _construct_classes(
                child, f"{path}/{child.node.id}" if path else child.node.id, depth + 1
            )
