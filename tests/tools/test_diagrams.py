"""The generated architecture diagrams: the committed ones match the stacks, and the graph rules hold
on a small app built here."""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from stacks.config import AppConfig
from tests.support.synth import new_app, synthesized_app
from tools.diagrams.cli import (
    DEFAULT_OUT_DIR,
    REPO_ROOT,
    SVG_SOURCE_MARK,
    dot_digest,
    render_svg,
    write_diagrams,
)
from tools.diagrams.dot import diagram_sources, render_dot
from tools.diagrams.graph import StackGraph, build_graphs
from tools.diagrams.rules import CLIENT_SECURITY_GROUP, MAIN_TYPES, action_verbs, classify
from tools.diagrams.sources import StackSource, stack_sources
from tools.diagrams.template import references

REGENERATE = "run `make diagrams` and commit docs/diagrams/"

# -- the committed diagrams ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_sources() -> list[StackSource]:
    return stack_sources(synthesized_app(DeploymentProfile.PRODUCTION))


@pytest.mark.synth
def test_committed_diagrams_match_the_stacks(app_sources: list[StackSource]) -> None:
    generated = diagram_sources(app_sources)
    committed = {path.stem: path.read_text() for path in DEFAULT_OUT_DIR.glob("*.dot")}

    assert sorted(committed) == sorted(generated), f"diagrams missing or left over: {REGENERATE}"
    stale = sorted(name for name, dot_text in generated.items() if committed[name] != dot_text)
    first_difference = "".join(
        list(
            difflib.unified_diff(
                committed[stale[0]].splitlines(keepends=True),
                generated[stale[0]].splitlines(keepends=True),
                "committed",
                "generated",
            )
        )[:30]
        if stale
        else []
    )
    assert not stale, f"diagrams out of date for {stale}: {REGENERATE}\n{first_difference}"


def test_each_svg_was_rendered_from_its_dot() -> None:
    dots = sorted(DEFAULT_OUT_DIR.glob("*.dot"))
    assert dots, f"no diagrams in {DEFAULT_OUT_DIR}: {REGENERATE}"
    for dot_path in dots:
        svg_path = dot_path.with_suffix(".svg")
        assert svg_path.exists(), f"{svg_path.name} missing: {REGENERATE}"
        mark = re.search(rf"<!-- {SVG_SOURCE_MARK}: ([0-9a-f]{{64}}) -->", svg_path.read_text())
        assert mark, f"{svg_path.name} was not written by tools.diagrams: {REGENERATE}"
        assert mark.group(1) == dot_digest(dot_path.read_text()), f"{svg_path.name} is stale: {REGENERATE}"


@pytest.mark.synth
def test_every_resource_type_of_the_app_is_classified(app_sources: list[StackSource]) -> None:
    unknown = set()
    for source in app_sources:
        for resource in source.resources.values():
            try:
                classify(resource["Type"])
            except KeyError:
                unknown.add(resource["Type"])
    assert not unknown, (
        f"add {sorted(unknown)} to MAIN_TYPES, FOLD_INTO or OMITTED_TYPES in tools/diagrams/rules.py"
    )


@pytest.mark.synth
def test_the_use_cases_are_drawn_with_their_data_flow(app_sources: list[StackSource]) -> None:
    graphs = {graph.name: graph for graph in build_graphs(app_sources)}
    flash_sale = _edges(graphs["DbPatterns-FlashSale"])

    assert flash_sale[("Orders/Api", "Orders/Queue")] == "SendMessage"
    assert flash_sale[("Orders/Queue", "Orders/Processor")] == "triggers"
    assert "TCP 9111" in flash_sale[("Orders/Processor", "Orders/Dax")]
    ledger = _edges(graphs["DbPatterns-FintechLedger"])
    assert ledger[("Ledger/EventStore/Events", "Ledger/StreamConsumers/Fraud")] == "stream (filtered)"


# -- graph rules, on a small app ---------------------------------------------------------------------


class OrderShop(Construct):
    """Queue -> worker -> table, topic and bucket; a cache that a VPC function and a client group reach."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        dead = sqs.Queue(self, "Dead")
        self.queue = sqs.Queue(
            self, "Orders", dead_letter_queue=sqs.DeadLetterQueue(queue=dead, max_receive_count=3)
        )
        self.table = dynamodb.TableV2(
            self, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
        )
        topic = sns.Topic(self, "Alerts")
        bucket = s3.Bucket(self, "Archive")
        worker = _function(self, "Worker", environment={"TABLE": self.table.table_name})
        worker.add_event_source(SqsEventSource(self.queue))
        self.table.grant_read_write_data(worker)
        topic.grant_publish(worker)
        bucket.grant_read(worker)

        vpc = ec2.Vpc(
            self,
            "Network",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        cache_group = ec2.SecurityGroup(self, "CacheGroup", vpc=vpc)
        elasticache.CfnCacheCluster(
            self,
            "Cache",
            engine="redis",
            cache_node_type="cache.t4g.micro",
            num_cache_nodes=1,
            vpc_security_group_ids=[cache_group.security_group_id],
        )
        reader = _function(self, "Reader", vpc=vpc)
        cache_group.connections.allow_from(reader, ec2.Port.tcp(6379))
        clients = ec2.SecurityGroup(self, "Clients", vpc=vpc)
        cache_group.connections.allow_from(clients, ec2.Port.tcp(6379))


def _function(scope: Construct, construct_id: str, **kwargs: object) -> lambda_.Function:
    return lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        timeout=Duration.seconds(10),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def shop_graphs() -> dict[str, StackGraph]:
    app: App = new_app()
    env = AppConfig().env()
    producer = Stack(app, "Producer", env=env)
    shop = OrderShop(producer, "Store")
    consumer = Stack(app, "Consumer", env=env)
    auditor = _function(consumer, "Auditor")
    shop.table.grant_read_data(auditor)
    return {graph.name: graph for graph in build_graphs(stack_sources(app))}


def _edges(graph: StackGraph) -> dict[tuple[str, str], str]:
    """(source, target) -> label, with node IDs relative to the graph's stack."""

    def short(node_id: str) -> str:
        return node_id.removeprefix(f"{graph.name}/")

    return {(short(source), short(target)): edge.label() for (source, target), edge in graph.edges.items()}


def _edge_kind(graph: StackGraph, source: str, target: str) -> str:
    return graph.edges[(f"{graph.name}/{source}", f"{graph.name}/{target}")].kind()


@pytest.mark.synth
def test_an_event_source_mapping_is_an_edge_from_the_queue_to_the_function(
    shop_graphs: dict[str, StackGraph],
) -> None:
    assert _edges(shop_graphs["Producer"])[("Store/Orders", "Store/Worker")] == "triggers"


@pytest.mark.synth
def test_iam_grants_are_edges_labelled_with_what_they_allow(shop_graphs: dict[str, StackGraph]) -> None:
    edges = _edges(shop_graphs["Producer"])

    assert edges[("Store/Worker", "Store/Table")] == "read/write"
    assert edges[("Store/Worker", "Store/Alerts")] == "publish"
    assert edges[("Store/Worker", "Store/Archive")] == "read"


@pytest.mark.synth
def test_the_polling_grant_of_a_mapping_adds_no_second_edge(shop_graphs: dict[str, StackGraph]) -> None:
    assert ("Store/Worker", "Store/Orders") not in _edges(shop_graphs["Producer"])


@pytest.mark.synth
def test_a_redrive_policy_is_a_dead_letter_edge(shop_graphs: dict[str, StackGraph]) -> None:
    assert _edges(shop_graphs["Producer"])[("Store/Orders", "Store/Dead")] == "dead letters"


@pytest.mark.synth
def test_security_group_ingress_is_an_edge_between_the_groups_users(
    shop_graphs: dict[str, StackGraph],
) -> None:
    graph = shop_graphs["Producer"]

    assert _edges(graph)[("Store/Reader", "Store/Cache")] == "TCP 6379"
    assert _edge_kind(graph, "Store/Reader", "Store/Cache") == "network"


@pytest.mark.synth
def test_a_group_that_only_rules_use_is_drawn_as_a_client_group(shop_graphs: dict[str, StackGraph]) -> None:
    graph = shop_graphs["Producer"]

    assert graph.nodes["Producer/Store/Clients"].kind == CLIENT_SECURITY_GROUP
    assert _edges(graph)[("Store/Clients", "Store/Cache")] == "TCP 6379"


@pytest.mark.synth
def test_resources_in_the_vpc_are_placed_in_it(shop_graphs: dict[str, StackGraph]) -> None:
    graph = shop_graphs["Producer"]

    assert _edge_kind(graph, "Store/Reader", "Store/Network") == "placement"
    assert _edge_kind(graph, "Store/Cache", "Store/Network") == "placement"
    assert ("Store/Worker", "Store/Network") not in _edges(graph)


@pytest.mark.synth
def test_noise_is_left_out(shop_graphs: dict[str, StackGraph]) -> None:
    """Roles, policies, subnets, route tables, queue policies and CDK's own custom-resource handler
    (the VPC's default-security-group restriction) are no nodes."""
    nodes = shop_graphs["Producer"].nodes

    assert sorted(nodes) == [
        "Consumer/Auditor",  # reads the table from the other stack: a dashed node
        "Producer/Store/Alerts",
        "Producer/Store/Archive",
        "Producer/Store/Cache",
        "Producer/Store/Clients",
        "Producer/Store/Dead",
        "Producer/Store/Network",
        "Producer/Store/Orders",
        "Producer/Store/Reader",
        "Producer/Store/Table",
        "Producer/Store/Worker",
    ]
    assert all(node.kind in (*MAIN_TYPES.values(), CLIENT_SECURITY_GROUP) for node in nodes.values())


@pytest.mark.synth
def test_a_top_level_construct_is_a_cluster_named_with_its_class(shop_graphs: dict[str, StackGraph]) -> None:
    graph = shop_graphs["Producer"]

    assert graph.clusters["Store"].label == "Store · OrderShop"
    assert graph.nodes["Producer/Store/Worker"].cluster == "Store"
    assert graph.nodes["Producer/Store/Worker"].name == "Worker"


@pytest.mark.synth
def test_a_reference_to_another_stack_is_drawn_in_both_stacks(shop_graphs: dict[str, StackGraph]) -> None:
    consumer, producer = shop_graphs["Consumer"], shop_graphs["Producer"]
    edge = ("Consumer/Auditor", "Producer/Store/Table")

    assert consumer.edges[edge].label() == "read"
    assert consumer.nodes["Producer/Store/Table"].external_stack == "Producer"
    assert producer.edges[edge].label() == "read"
    assert producer.nodes["Consumer/Auditor"].external_stack == "Consumer"


@pytest.mark.synth
def test_node_labels_carry_the_deciding_properties(shop_graphs: dict[str, StackGraph]) -> None:
    nodes = shop_graphs["Producer"].nodes

    assert nodes["Producer/Store/Worker"].details == ["python3.12"]
    assert nodes["Producer/Store/Cache"].details == ["redis · cache.t4g.micro, 1 node"]
    assert nodes["Producer/Store/Network"].details[0] == "2 AZs · isolated subnets · no NAT"


@pytest.mark.synth
def test_dot_is_the_same_on_every_run_and_names_nothing_of_the_machine(
    shop_graphs: dict[str, StackGraph],
) -> None:
    dot_text = render_dot(shop_graphs["Producer"])

    assert render_dot(shop_graphs["Producer"]) == dot_text
    assert not re.search(r"[0-9a-f]{64}", dot_text), "asset hash in the DOT text"
    for folder in (tempfile.gettempdir(), Path.home(), REPO_ROOT):
        assert str(folder) not in dot_text


# -- pure helpers ------------------------------------------------------------------------------------


def test_references_follow_ref_getatt_and_sub() -> None:
    value = {
        "A": {"Ref": "Queue"},
        "B": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*-${Local}-${!Literal}"},
        "E": {"Fn::Sub": ["${Topic.TopicName}-${Local}", {"Local": {"Ref": "Key"}}]},
    }

    assert sorted(set(references(value))) == ["Bucket", "Key", "Local", "Queue", "Table", "Topic"]


def test_action_verbs_name_what_a_grant_allows() -> None:
    assert action_verbs(["dynamodb:GetItem", "dynamodb:Query"]) == {"read"}
    assert action_verbs(["dynamodb:PutItem", "dynamodb:GetItem", "kms:Decrypt"]) == {"read", "write"}
    assert action_verbs(["sqs:SendMessage", "sns:Publish"]) == {"send", "publish"}
    assert action_verbs(["kms:Decrypt", "logs:PutLogEvents"]) == set()


def test_classify_rejects_a_type_it_does_not_know() -> None:
    assert classify("AWS::Lambda::Function") == "main"
    assert classify("AWS::ApiGateway::Method") == "fold"
    assert classify("AWS::IAM::Role") == "omitted"
    with pytest.raises(KeyError):
        classify("AWS::Made::Up")


def test_writing_replaces_the_diagrams_of_stacks_that_are_gone(tmp_path: Path) -> None:
    (tmp_path / "Removed.dot").write_text("digraph {}\n")
    (tmp_path / "Removed.svg").write_text("<svg/>\n")

    write_diagrams({"Kept": "digraph Kept {}\n"}, tmp_path, svg=False)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["Kept.dot"]
    assert (tmp_path / "Kept.dot").read_text() == "digraph Kept {}\n"


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (only make diagrams needs it)"
)
def test_an_svg_names_the_digest_of_the_dot_it_was_drawn_from() -> None:
    dot_text = 'digraph "G" { "a" -> "b"; }\n'

    svg = render_svg(dot_text, str(shutil.which("dot")))

    assert f"<!-- {SVG_SOURCE_MARK}: {dot_digest(dot_text)} -->" in svg
    assert "<svg" in svg
