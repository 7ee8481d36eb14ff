"""The graph of each stack: nodes, edges from the rules, clusters from the construct tree."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.diagrams.index import AppIndex, NodeRef, StackIndex
from tools.diagrams.labels import DETAILS
from tools.diagrams.rules import (
    CLIENT_SECURITY_GROUP,
    EDGE_PRIORITY,
    FLOW,
    FOLD_INTO,
    IGNORED_PROPERTIES,
    MAIN_TYPES,
    NETWORK_RULE,
    PLACEMENT,
    POLLING_ACTIONS,
    PROPERTY_RULES,
    REPLICATION,
    Kind,
    PropertyRule,
    action_verbs,
    as_list,
)
from tools.diagrams.sources import CLASS_DEPTH, StackSource
from tools.diagrams.template import references


@dataclass
class Node:
    """A box; ``id`` is the stack and trimmed construct path: ``DbPatterns-FlashSale/Orders/Dax``."""

    id: str
    kind: Kind
    name: str
    details: list[str]
    cluster: str  # construct path of the innermost cluster, "" for none
    external_stack: str | None = None


@dataclass
class Edge:
    """What connects two nodes: labels from references (``triggers``, ``dead letters``...), verbs from IAM
    grants (shown only when no reference names the link), security-group ports, and the kinds that
    choose the style."""

    structural: set[str] = field(default_factory=set)
    permissions: set[str] = field(default_factory=set)
    network: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    def label(self) -> str:
        verbs = set() if any(self.structural) else self.permissions
        if {"read", "write"} <= verbs:
            verbs = (verbs - {"read", "write"}) | {"read/write"}
        parts = sorted(label for label in self.structural | verbs if label) + sorted(self.network)
        return "\n".join(parts)

    def kind(self) -> str:
        return next(kind for kind in EDGE_PRIORITY if kind in self.kinds)


@dataclass(frozen=True)
class Cluster:
    """A construct drawn as a box around its nodes; ``parent`` is the enclosing cluster's path or ``""``."""

    path: str
    label: str
    parent: str


@dataclass
class StackGraph:
    """One stack's diagram, with the nodes of other stacks that its edges reach."""

    name: str
    title: str
    nodes: dict[str, Node]
    edges: dict[tuple[str, str], Edge]
    clusters: dict[str, Cluster]
    #: region of each other stack that has a node in this graph
    other_regions: dict[str, str] = field(default_factory=dict)


class _GraphBuilder:
    """Finds the edges that one stack's template defines, into dicts shared by all stacks (an edge to
    another stack is drawn in both stacks' diagrams)."""

    def __init__(
        self,
        app: AppIndex,
        stack: str,
        edges: dict[tuple[NodeRef, NodeRef], Edge],
        extra_nodes: dict[NodeRef, Kind],
    ) -> None:
        self.app = app
        self.index = app.stacks[stack]
        self.stack = stack
        self.edges = edges
        self.extra_nodes = extra_nodes

    def build(self) -> None:
        self.property_edges()
        self.permission_edges()
        self.network_edges()
        self.placement_edges()

    # -- edges ------------------------------------------------------------------------------------

    def edge(self, source: NodeRef, target: NodeRef) -> Edge | None:
        if source == target:
            return None
        return self.edges.setdefault((source, target), Edge())

    def property_edges(self) -> None:
        for logical_id in sorted(self.index.resources):
            resource_type = self.index.type_of(logical_id) or ""
            owner = self.index.main_of(logical_id)
            if owner is None:
                continue
            props = self.index.props(logical_id)
            for prop, value in sorted(props.items()):
                if prop in IGNORED_PROPERTIES or prop == FOLD_INTO.get(resource_type):
                    continue
                if resource_type == "AWS::Backup::BackupPlan":
                    self._backup_plan_edges(owner, value)
                    continue
                rule = PROPERTY_RULES.get((resource_type, prop), PropertyRule(""))
                label = rule.label(props) if callable(rule.label) else rule.label
                for target in sorted(set(self.app.targets(self.stack, value))):
                    edge = self.edge(*((target, owner) if rule.reverse else (owner, target)))
                    if edge is not None:
                        edge.structural.add(label)
                        edge.kinds.add(rule.kind)

    def _backup_plan_edges(self, plan: NodeRef, value: Any) -> None:
        for rule in as_list(value.get("BackupPlanRule", []) if isinstance(value, dict) else []):
            for target in sorted(set(self.app.targets(self.stack, rule.get("TargetBackupVault")))):
                if (edge := self.edge(plan, target)) is not None:
                    edge.structural.add("stores in")
                    edge.kinds.add(FLOW)
            for target in sorted(set(self.app.targets(self.stack, rule.get("CopyActions")))):
                if (edge := self.edge(plan, target)) is not None:
                    edge.structural.add("copies to")
                    edge.kinds.add(REPLICATION)

    def permission_edges(self) -> None:
        role_users: dict[str, set[NodeRef]] = defaultdict(set)
        roles = set(self.index.of_type("AWS::IAM::Role"))
        for logical_id, resource in sorted(self.index.resources.items()):
            if resource["Type"].startswith("AWS::IAM::"):
                continue
            user = self.index.main_of(logical_id)
            if user is None:
                continue
            for ref in references(resource.get("Properties", {})):
                if ref in roles:
                    role_users[ref].add(user)
        granted: dict[tuple[NodeRef, NodeRef], set[str]] = defaultdict(set)
        for role, statements in self._role_statements(roles):
            for statement in statements:
                if statement.get("Effect") != "Allow":
                    continue
                actions = {str(action) for action in as_list(statement.get("Action", []))}
                for target in set(self.app.targets(self.stack, statement.get("Resource"))):
                    for user in role_users.get(role, ()):
                        granted[(user, target)] |= actions
        for (user, target), actions in sorted(granted.items()):
            mapping = self.edges.get((target, user))
            polled = mapping is not None and any(
                label.startswith(("stream", "triggers")) for label in mapping.structural
            )
            verbs = action_verbs(actions - POLLING_ACTIONS if polled else actions)
            if verbs and (edge := self.edge(user, target)) is not None:
                edge.permissions |= verbs
                edge.kinds.add(FLOW)

    def _role_statements(self, roles: set[str]) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
        for logical_id in sorted(self.index.resources):
            resource_type = self.index.type_of(logical_id)
            props = self.index.props(logical_id)
            if resource_type == "AWS::IAM::Role":
                for policy in props.get("Policies", []):
                    yield logical_id, as_list(policy.get("PolicyDocument", {}).get("Statement", []))
            elif resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                statements = as_list(props.get("PolicyDocument", {}).get("Statement", []))
                for role in sorted(set(references(props.get("Roles", []))) & roles):
                    yield role, statements

    def network_edges(self) -> None:
        groups = set(self.index.of_type("AWS::EC2::SecurityGroup"))
        users: dict[str, set[NodeRef]] = defaultdict(set)
        referenced: set[str] = set()
        for logical_id, resource in sorted(self.index.resources.items()):
            if resource["Type"].startswith("AWS::EC2::SecurityGroup"):
                continue
            for ref in set(references(resource.get("Properties", {}))) & groups:
                referenced.add(ref)
                user = self.index.main_of(logical_id)
                if user is not None:
                    users[ref].add(user)
        for group, source_group, rule in self._ingress_rules(groups):
            sources = users.get(source_group, set())
            if source_group not in referenced:  # a group for clients to join: drawn as a node
                node = NodeRef(self.stack, source_group)
                self.extra_nodes[node] = CLIENT_SECURITY_GROUP
                sources = {node}
            for source in sorted(sources):
                for target in sorted(users.get(group, set())):
                    if (edge := self.edge(source, target)) is not None:
                        edge.network.add(_port_label(rule))
                        edge.kinds.add(NETWORK_RULE)

    def _ingress_rules(self, groups: set[str]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        for logical_id in sorted(self.index.resources):
            props = self.index.props(logical_id)
            resource_type = self.index.type_of(logical_id)
            if resource_type == "AWS::EC2::SecurityGroupIngress":
                group = next(iter(references(props.get("GroupId"))), None)
                source = next(iter(references(props.get("SourceSecurityGroupId"))), None)
                if group in groups and source in groups:
                    yield group, source, props
            elif resource_type == "AWS::EC2::SecurityGroup":
                for rule in props.get("SecurityGroupIngress", []):
                    source = next(iter(references(rule.get("SourceSecurityGroupId"))), None)
                    if source in groups:
                        yield logical_id, source, rule

    def placement_edges(self) -> None:
        vpc_of: dict[str, str] = {}
        for logical_id in self.index.of_type("AWS::EC2::SecurityGroup", "AWS::EC2::Subnet"):
            vpc_id = next(iter(references(self.index.props(logical_id).get("VpcId"))), None)
            if vpc_id:
                vpc_of[logical_id] = vpc_id
        for logical_id in sorted(self.index.resources):
            main = self.index.main_of(logical_id)
            if main is None or self.index.type_of(logical_id) == "AWS::EC2::VPCEndpoint":
                continue
            for ref in sorted(set(references(self.index.props(logical_id))) & set(vpc_of)):
                vpc = self.index.main_of(vpc_of[ref])
                if vpc is not None and (edge := self.edge(main, vpc)) is not None:
                    edge.kinds.add(PLACEMENT)


def _port_label(rule: Mapping[str, Any]) -> str:
    protocol = str(rule.get("IpProtocol", "tcp"))
    if protocol == "-1":
        return "all traffic"
    low, high = rule.get("FromPort"), rule.get("ToPort")
    if not isinstance(low, int):
        return protocol.upper()
    return f"{protocol.upper()} {low}" if low == high else f"{protocol.upper()} {low}-{high}"


# -- building one stack's graph -------------------------------------------------------------------


def _trimmed(path: str) -> str:
    """``Orders/Processor`` for ``Orders/Processor/Resource/Resource``."""
    parts = path.split("/")
    while len(parts) > 1 and parts[-1] == "Resource":
        parts.pop()
    return "/".join(parts)


def _node_ids(index: StackIndex, refs: Iterable[NodeRef]) -> dict[NodeRef, str]:
    """Readable, unique node IDs: the stack and the trimmed construct path of each resource."""
    paths = {ref: index.source.paths.get(ref.logical_id, ref.logical_id) for ref in refs}
    trimmed = {ref: _trimmed(path) for ref, path in paths.items()}
    counts: dict[str, int] = defaultdict(int)
    for path in trimmed.values():
        counts[path] += 1
    return {
        ref: f"{index.source.name}/{trimmed[ref] if counts[trimmed[ref]] == 1 else paths[ref]}"
        for ref in paths
    }


def _clusters(source: StackSource, node_paths: Iterable[str]) -> dict[str, Cluster]:
    """A cluster per top-level construct holding a node, and per deeper one (not an aws-cdk-lib L1/L2)
    holding two or more nodes."""
    counts: dict[str, int] = defaultdict(int)
    for path in node_paths:
        parts = path.split("/")
        for depth in range(1, min(len(parts), CLASS_DEPTH) + 1):
            counts["/".join(parts[:depth])] += 1
    clusters: dict[str, Cluster] = {}
    for path in sorted(counts):
        construct = source.classes.get(path)
        if construct is None:
            continue
        depth = path.count("/") + 1
        if construct.from_cdk or (depth > 1 and counts[path] < 2):
            continue
        parent = next(
            (candidate for candidate in _ancestors(path) if candidate in clusters),
            "",
        )
        label = path.rsplit("/", 1)[-1]
        if construct.name != "Construct":
            label = f"{label} · {construct.name}"
        clusters[path] = Cluster(path=path, label=label, parent=parent)
    return clusters


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(len(parts) - 1, 0, -1)]


def _display_name(node_path: str, cluster: str) -> str:
    relative = node_path[len(cluster) + 1 :] if cluster else node_path
    parts = [part for part in relative.split("/") if part and part != "Resource"]
    if not parts:
        parts = [part for part in node_path.split("/") if part != "Resource"][-1:] or [node_path]
    return "/".join(parts)


def build_graphs(sources: Iterable[StackSource]) -> list[StackGraph]:
    """The graph of every stack, sorted by stack name."""
    app = AppIndex(sources)
    edges: dict[tuple[NodeRef, NodeRef], Edge] = {}
    extra_nodes: dict[NodeRef, Kind] = {}
    for stack in sorted(app.stacks):
        _GraphBuilder(app, stack, edges, extra_nodes).build()
    edges = {pair: edge for pair, edge in edges.items() if edge.kinds}
    return [_stack_graph(app, stack, edges, extra_nodes) for stack in sorted(app.stacks)]


def _stack_graph(
    app: AppIndex,
    stack: str,
    all_edges: Mapping[tuple[NodeRef, NodeRef], Edge],
    extra_nodes: Mapping[NodeRef, Kind],
) -> StackGraph:
    index = app.stacks[stack]
    local = {
        NodeRef(stack, logical_id)
        for logical_id in index.resources
        if index.main_of(logical_id) == NodeRef(stack, logical_id)
    } | {ref for ref in extra_nodes if ref.stack == stack}
    edges = {pair: edge for pair, edge in all_edges.items() if stack in (pair[0].stack, pair[1].stack)}
    external = {ref for pair in edges for ref in pair if ref.stack != stack}

    ids: dict[NodeRef, str] = _node_ids(index, local)
    for other in sorted({ref.stack for ref in external}):
        ids |= _node_ids(app.stacks[other], [ref for ref in external if ref.stack == other])

    local_paths = {ref: ids[ref].removeprefix(f"{stack}/") for ref in local}
    clusters = _clusters(index.source, local_paths.values())
    nodes: dict[str, Node] = {}
    for ref in sorted(local | external):
        owner = app.stacks[ref.stack]
        resource_type = owner.type_of(ref.logical_id) or ""
        kind = extra_nodes.get(ref) or MAIN_TYPES[resource_type]
        if ref.stack == stack:
            path = local_paths[ref]
            cluster = next((c for c in [path, *_ancestors(path)] if c in clusters), "")
            details = DETAILS[resource_type](owner, ref.logical_id) if resource_type in DETAILS else []
            nodes[ids[ref]] = Node(ids[ref], kind, _display_name(path, cluster), details, cluster)
        else:
            path = ids[ref].removeprefix(f"{ref.stack}/")
            nodes[ids[ref]] = Node(ids[ref], kind, _display_name(path, ""), [], "", external_stack=ref.stack)

    description = str(index.source.template.get("Description", ""))
    title = f"{stack} · {index.source.region}"
    if description:
        title += f"\n{description}"
    return StackGraph(
        stack,
        title,
        nodes,
        {(ids[source], ids[target]): edge for (source, target), edge in edges.items()},
        clusters,
        {ref.stack: app.stacks[ref.stack].source.region for ref in sorted(external)},
    )
