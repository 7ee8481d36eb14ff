"""AWS DMS Serverless replication of one tenant's rows from one tenant database to another: the
data path of a tier move (the state machine in :mod:`dbpatterns.tenancy.move_state_machine` drives it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import jsii
from aws_cdk import aws_dms as dms
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from dbpatterns.common.encryption import allow_cloudwatch_logs, create_key
from dbpatterns.common.interfaces import (
    check_interface,
    check_interface_endpoint,
    check_key,
    check_subnet_selection,
    check_vpc,
)
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.nag import acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_instance, check_int, construct_label, require
from dbpatterns.rds.shared import isolated_subnets
from dbpatterns.runtime.tenancy.catalog import Tier, database_id_of
from dbpatterns.runtime.tenancy.ids import check_tenant_id
from dbpatterns.runtime.tenancy.schema import TENANT_TABLES
from dbpatterns.tenancy.ca_bundle import BUNDLE_PATH
from dbpatterns.tenancy.dms_endpoint import EndpointRole, TenantDmsEndpoint, TenantDmsEndpointProps
from dbpatterns.tenancy.tenant_database import TenantDatabase

#: The schema whose tables move (every tenant database has the same one).
APP_SCHEMA = "app"
#: DMS Serverless capacity units (1 DCU = 2 GB of RAM): allowed values.
CAPACITY_UNITS = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
#: What DMS needs to run, drive and watch this replication (the state machine's grant).
RUN_ACTIONS = (
    "dms:StartReplication",
    "dms:StopReplication",
    "dms:DescribeReplicationTableStatistics",
)
#: Tables load parents first: ``tasks`` references ``projects`` (DMS loads higher ``load-order`` first).
_LOAD_ORDER = {table: len(TENANT_TABLES) - index for index, table in enumerate(TENANT_TABLES)}


def table_mappings(tenant_id: str) -> dict[str, object]:
    """DMS table mappings: one selection rule per tenant table of ``app``, each with a source filter
    ``tenant_id = <tenant>`` (only the moved tenant's rows travel, in full load and in CDC)."""
    rules = []
    for number, table in enumerate(TENANT_TABLES, start=1):
        rules.append(
            {
                "rule-type": "selection",
                "rule-id": str(number),
                "rule-name": f"{table}-of-{tenant_id}",
                "object-locator": {"schema-name": APP_SCHEMA, "table-name": table},
                "rule-action": "include",
                "load-order": _LOAD_ORDER[table],
                "filters": [
                    {
                        "filter-type": "source",
                        "column-name": "tenant_id",
                        "filter-conditions": [{"filter-operator": "eq", "value": tenant_id}],
                    }
                ],
            }
        )
    return {"rules": rules}


def replication_settings() -> dict[str, object]:
    """DMS task settings: the schema is already there (``DO_NOTHING``: a pooled target holds other
    tenants), row-level validation on, any data or apply error stops the replication (the state
    machine then rolls the move back) and logs go to CloudWatch."""
    return {
        "Logging": {"EnableLogging": True},
        "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"},
        # Any failed or suspended record makes the state machine roll the move back, so DMS's own
        # failure ceilings are left at their defaults.
        "ValidationSettings": {"EnableValidation": True, "ValidationMode": "ROW_LEVEL"},
        "ErrorBehavior": {
            "DataErrorPolicy": "STOP_TASK",
            "TableErrorPolicy": "STOP_TASK",
            "ApplyErrorDeletePolicy": "STOP_TASK",
            "ApplyErrorInsertPolicy": "STOP_TASK",
            "ApplyErrorUpdatePolicy": "STOP_TASK",
        },
    }


@dataclass(frozen=True, kw_only=True)
class TenantReplicationProps:
    """Props of :class:`TenantReplication`."""

    tenant_id: str
    """The tenant whose rows move (a tenant of ``source``)."""
    source: TenantDatabase
    """Where the tenant lives now."""
    target: TenantDatabase
    """Where it moves: another database with the same schema."""
    vpc: ec2.IVpc
    """The fleet's VPC."""
    profile: DeploymentProfile
    """Sandbox or production: capacity, Multi-AZ, key and log retention follow it."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets of the DMS subnet group - the private isolated subnets by default."""
    secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None = None
    """The VPC's Secrets Manager endpoint, which DMS reaches on 443 to read the master secrets - none
    by default (then no rule is added)."""
    max_capacity_units: int | None = None
    """DMS Serverless ceiling, in DCUs (one of :data:`CAPACITY_UNITS`) - 16 in production, 4 in a
    sandbox."""
    min_capacity_units: int | None = None
    """DMS Serverless floor, in DCUs - 1 (DMS scales up from there)."""
    multi_az: bool | None = None
    """A standby replication in another AZ - on in production, off in a sandbox."""
    encryption_key: kms.IKey | None = None
    """Key for the replication's storage, the endpoints' settings and the log group - a new key with
    rotation by default."""
    operator_role: iam.IRole | None = None
    """A role (the move state machine's) allowed to start, stop and inspect this replication, through
    a policy defined here (so the role's own stack does not change per move) - none by default."""


@jsii.implements(ec2.IConnectable)
class TenantReplication(Construct):
    """A DMS Serverless replication (``CfnReplicationConfig``, ``full-load-and-cdc``) of one tenant
    between two tenant databases.

    Why Serverless: a move runs for minutes to hours a few times a year; Serverless bills DCU-hours
    only while a replication is provisioned (from start until it is stopped and deprovisioned), a
    replication instance bills every hour it exists. Serverless supports PostgreSQL and Aurora
    PostgreSQL as source and target, column filters, and validation.

    - Network: a DMS subnet group on the isolated subnets and a security group without default
      egress: out to the source and the target on their port (the ingress rules are added to the
      databases' groups from this construct's stack, through their ``connections``), and to the
      Secrets Manager endpoint on 443 when given.
    - Endpoints: :class:`~dbpatterns.tenancy.dms_endpoint.TenantDmsEndpoint` (master secret, TLS
      verify-full against the RDS CAs imported as a ``CfnCertificate``, the tenant's RLS context).
    - Table mapping: :func:`table_mappings` (``tenant_id`` column filter on every tenant table);
      settings: :func:`replication_settings` (validation on, stop on errors, CloudWatch logs).
    - Encryption: one KMS key for the replication storage, the endpoint settings and the log group
      ``dms-serverless-replication-<resource identifier>`` (created here with retention).

    ``ec2.IConnectable``. Exposes ``replication_config`` (L1), ``replication_config_arn``,
    ``replication_config_identifier``, ``resource_identifier`` (the ARN's last part), ``source_endpoint``,
    ``target_endpoint``, ``certificate``,
    ``subnet_group``, ``security_group``, ``encryption_key``, ``log_group``, ``tenant_id``, ``run_policy``
    (with ``operator_role``); ``grant_run``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: TenantReplicationProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        max_units, min_units, multi_az = _validate(label, props)
        super().__init__(scope, construct_id)
        self.tenant_id = props.tenant_id
        source, target = props.source, props.target
        identifier = f"tenant-move-{props.tenant_id}-{source.database_id}-to-{target.database_id}"
        self.replication_config_identifier = identifier
        # The ARN's last part: short (at most 54 characters with a 40-character tenant id), stable for
        # the pair, and what the state machine searches the DMS metrics for.
        pair = hashlib.sha256(f"{source.database_id}>{target.database_id}".encode()).hexdigest()[:8]
        self.resource_identifier = f"move-{props.tenant_id}-{pair}"

        if props.encryption_key is None:
            key = create_key(
                self,
                "Key",
                description=f"DMS replication {identifier}: storage, endpoint settings, logs",
                profile=props.profile,
            )
            allow_cloudwatch_logs(key)
            self.encryption_key: kms.IKey = key
        else:
            self.encryption_key = props.encryption_key

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            allow_all_outbound=False,
            description=f"DMS replication {identifier}: to the two databases only",
        )
        self._connections = ec2.Connections(security_groups=[self.security_group])
        for database, role in ((source, "source"), (target, "target")):
            self._connections.allow_to_default_port(database, f"DMS to the {role} ({database.database_id})")
        if props.secrets_manager_endpoint is not None:
            self._connections.allow_to(
                props.secrets_manager_endpoint, ec2.Port.tcp(443), "DMS reads the master secrets"
            )

        selection = isolated_subnets(props.vpc_subnets)
        subnets = props.vpc.select_subnets(
            availability_zones=selection.availability_zones,
            one_per_az=selection.one_per_az,
            subnet_filters=selection.subnet_filters,
            subnet_group_name=selection.subnet_group_name,
            subnets=selection.subnets,
            subnet_type=selection.subnet_type,
        )
        self.subnet_group = dms.CfnReplicationSubnetGroup(
            self,
            "Subnets",
            replication_subnet_group_description=f"DMS replication {identifier}: isolated subnets",
            subnet_ids=subnets.subnet_ids,
        )
        self.certificate = dms.CfnCertificate(self, "RdsCa", certificate_pem=BUNDLE_PATH.read_text())
        self.source_endpoint = TenantDmsEndpoint(
            self,
            "Source",
            TenantDmsEndpointProps(
                database=source,
                role=EndpointRole.SOURCE,
                tenant_id=props.tenant_id,
                certificate=self.certificate,
                encryption_key=self.encryption_key,
            ),
        )
        self.target_endpoint = TenantDmsEndpoint(
            self,
            "Target",
            TenantDmsEndpointProps(
                database=target,
                role=EndpointRole.TARGET,
                tenant_id=props.tenant_id,
                certificate=self.certificate,
                encryption_key=self.encryption_key,
            ),
        )
        self.log_group: logs.LogGroup = create_log_group(
            self, "Logs", profile=props.profile, encryption_key=self.encryption_key
        )
        self.log_group.node.default_child.add_property_override(  # type: ignore[union-attr]
            "LogGroupName", f"dms-serverless-replication-{self.resource_identifier}"
        )
        compute: dict[str, object] = {
            "max_capacity_units": max_units,
            "min_capacity_units": min_units,
            "multi_az": multi_az,
            "kms_key_id": self.encryption_key.key_arn,
            "replication_subnet_group_id": self.subnet_group.ref,
            "vpc_security_group_ids": [self.security_group.security_group_id],
        }
        self.replication_config = dms.CfnReplicationConfig(
            self,
            "Resource",
            replication_config_identifier=identifier,
            resource_identifier=self.resource_identifier,
            replication_type="full-load-and-cdc",
            source_endpoint_arn=self.source_endpoint.endpoint_arn,
            target_endpoint_arn=self.target_endpoint.endpoint_arn,
            table_mappings=table_mappings(props.tenant_id),
            replication_settings=replication_settings(),
            compute_config=dms.CfnReplicationConfig.ComputeConfigProperty(**compute),  # type: ignore[arg-type]
        )
        self.replication_config.node.add_dependency(self.log_group)
        self.replication_config_arn: str = self.replication_config.attr_replication_config_arn
        self.run_policy: iam.Policy | None = None
        if props.operator_role is not None:
            self.run_policy = iam.Policy(
                self,
                "RunPolicy",
                roles=[props.operator_role],
                statements=[
                    iam.PolicyStatement(actions=list(RUN_ACTIONS), resources=[self.replication_config_arn])
                ],
            )
            acknowledge_framework_rule(
                self.run_policy,
                "IAMNoInlinePolicy",
                "Inline on purpose: every planned move attaches one to the same operator role, and IAM "
                "attaches at most 10 (20 on request) managed policies to a role.",
            )

    @property
    def connections(self) -> ec2.Connections:
        """The replication's security group (egress to the two databases)."""
        return self._connections

    def grant_run(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start, stop and read the table statistics of this replication only; IAM only.

        ``dms:DescribeReplications`` takes filters rather than an ARN and is granted by the caller.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(RUN_ACTIONS), resource_arns=[self.replication_config_arn]
        )


def _validate(label: str, props: TenantReplicationProps) -> tuple[int, int, bool]:
    check_instance(label, "source", props.source, TenantDatabase)
    check_instance(label, "target", props.target, TenantDatabase)
    check_instance(label, "profile", props.profile, DeploymentProfile)
    check_vpc(label, props.vpc)
    check_subnet_selection(label, props.vpc_subnets)
    check_interface_endpoint(label, props.secrets_manager_endpoint, "secrets_manager_endpoint")
    check_key(label, props.encryption_key)
    check_instance(label, "multi_az", props.multi_az, bool, optional=True)
    check_interface(
        label, "operator_role", props.operator_role, "iam.IRole", ("role_arn", "role_name"), optional=True
    )
    check_tenant_id(props.tenant_id, where=label, prop="tenant_id")
    require(
        props.tenant_id in props.source.tenants,
        label,
        "tenant_id",
        props.tenant_id,
        f"allowed: a tenant of the source {props.source.database_id} ({list(props.source.tenants)})",
    )
    require(
        props.target.database_id != props.source.database_id,
        label,
        "target",
        props.target.database_id,
        "allowed: a database other than the source",
    )
    require(
        props.target.tier is Tier.POOLED
        or (
            props.target.database_id == database_id_of(props.tenant_id, props.target.tier, None)
            and tuple(props.target.tenants) in ((), (props.tenant_id,))
        ),
        label,
        "target",
        props.target.database_id,
        f"allowed: a pooled shard or the dedicated database of {props.tenant_id!r}",
    )
    max_units = props.profile.pick(props.max_capacity_units, production=16, sandbox=4)
    min_units = 1 if props.min_capacity_units is None else props.min_capacity_units
    for prop, value in (("max_capacity_units", max_units), ("min_capacity_units", min_units)):
        check_int(label, prop, value)
        require(
            value in CAPACITY_UNITS,
            label,
            prop,
            value,
            "allowed: " + ", ".join(str(v) for v in CAPACITY_UNITS),
        )
    require(
        min_units <= max_units,
        label,
        "min_capacity_units",
        min_units,
        f"allowed: at most max_capacity_units ({max_units})",
    )
    multi_az = props.profile.pick(props.multi_az, production=True, sandbox=False)
    return max_units, min_units, multi_az
