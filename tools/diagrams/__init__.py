"""Architecture diagrams generated from the synthesized app: one Graphviz DOT file and one SVG per stack.

    python -m tools.diagrams [OUT_DIR] [--no-svg]        # what `make diagrams` runs

The graph is read from what CloudFormation would deploy, not drawn by hand: the production synth's
templates give the resources and their references, the construct tree gives the grouping (one cluster
per top-level construct, labelled with its class, e.g. ``Orders · FlashSaleOrderPipeline``).

* Nodes are the resources a reader cares about (APIs, WAF, functions, queues, topics, tables, DAX, RDS
  instances, Aurora clusters, caches, buckets, VPCs, backup vaults and plans...). Resources that only
  serve one of them fold into it (API methods into the API, Aurora instances into their cluster, VPC
  endpoints into the VPC). The rest is left out as noise: IAM, KMS, logs, alarms, subnets, route
  tables, secrets, custom-resource providers. :data:`MAIN_TYPES`, :data:`FOLD_INTO` and
  :data:`OMITTED_TYPES` classify every resource type; the tests fail on a type in none of them.
* Edges are derived from the templates: event source mappings (source -> function), IAM policy
  statements (the role's user -> the resource, labelled read/write/send/publish...), references between
  resources (environment variables, integrations, dead-letter targets, WAF associations, replication and
  global-database membership), and security-group ingress between the groups' users (``TCP 9111``).
  Resources placed in a VPC get a dotted edge to it. References to other stacks (``Fn::GetStackOutput``,
  ``Fn::ImportValue``, physical names in ARNs) point to dashed nodes of those stacks.
* Output is deterministic: everything is sorted, node IDs are construct paths, nothing depends on
  asset hashes, absolute paths or the Graphviz version. ``tests/tools/test_diagrams.py`` regenerates the
  DOT text from the test session's synth and compares it with the committed files, so the tests need
  no Graphviz; only rendering the SVGs does.
"""
