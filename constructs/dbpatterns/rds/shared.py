"""What RDS instances, their read replicas and the Aurora constructs share.

Parameter groups that require TLS, the cdk-nag acknowledgments they all need, and the checks of props
they have in common (backup retention, secret rotation, instance classes, parameters), so neither
``read_replica`` nor ``aurora`` has to import ``rds.instance``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.durations import check_duration
from dbpatterns.common.interfaces import check_interface
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.validation import PropValidationError
from dbpatterns.rds.engines import EngineFamily

#: Automated backups RDS and Aurora keep: 1-35 days (0 would turn backups and point-in-time restore off).
MIN_BACKUP_RETENTION, MAX_BACKUP_RETENTION = Duration.days(1), Duration.days(35)
#: Secrets Manager rotates every 4 hours at the most often and every 1000 days at the least, in whole
#: hours or days (``rate()`` expressions; Secrets Manager ``RotationRules``).
MIN_ROTATION, MAX_ROTATION = Duration.hours(4), Duration.days(1000)
DEFAULT_ROTATION = Duration.days(30)
DEFAULT_BACKUP_RETENTION = Duration.days(7)


def isolated_subnets(selection: ec2.SubnetSelection | None) -> ec2.SubnetSelection:
    """``selection``, or the VPC's private isolated subnets."""
    return selection or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


def engine_parameter_group(
    scope: Construct,
    construct_id: str,
    engine: rds.IInstanceEngine | rds.IClusterEngine,
    extra: Mapping[str, str],
) -> rds.ParameterGroup:
    """A parameter group that refuses unencrypted connections and turns on useful logging."""
    family = EngineFamily.of(engine)
    return rds.ParameterGroup(
        scope,
        construct_id,
        engine=engine,
        description=f"{engine.engine_type}: TLS required, slow-query and connection logging",
        parameters={**family.logging_parameters, **extra, **family.tls_parameters},
        removal_policy=RemovalPolicy.DESTROY,
    )


def acknowledge_default_port(construct: Construct) -> None:
    acknowledge(
        construct,
        "AwsSolutions-RDS11",
        "The engine's standard port is kept so drivers and tools work unchanged; the database sits in "
        "isolated subnets and its security group admits only granted peers, which is the real control.",
    )


def acknowledge_no_deletion_protection(construct: Construct) -> None:
    reason = (
        "Deletion protection is off on purpose (sandbox profile or deletion_protection=False) so the "
        "sandbox can be torn down; the production profile turns it on."
    )
    acknowledge(construct, "AwsSolutions-RDS10", reason)
    acknowledge_framework_rule(construct, "RDSInstanceDeletionProtectionEnabled", reason)


def engine_port_connections(connections: ec2.Connections, port: int) -> ec2.Connections:
    """``connections`` (an RDS or Aurora L2's) with the engine's ``port`` as a number.

    aws-cdk-lib's database L2s use the endpoint's port attribute (a token) as the default port, so
    every ingress rule they add reads ``FromPort: {"Fn::GetAtt": ...}``: a template reader (and
    cdk-nag's open-port rules, which cannot resolve it) cannot see which port is open. The constructs
    keep the engine's standard port, so the number is known at synth time.
    """
    return ec2.Connections(security_groups=connections.security_groups, default_port=ec2.Port.tcp(port))


def pin_ingress_ports(connections: ec2.Connections, port: int) -> None:
    """Give the ingress rules aws-cdk-lib already added to ``connections``' security groups with the
    port token (e.g. for the rotation function) the engine's ``port`` as a number."""
    for security_group in connections.security_groups:
        for child in security_group.node.children:
            if isinstance(child, ec2.CfnSecurityGroupIngress) and Token.is_unresolved(child.from_port):
                child.from_port = port
                child.to_port = port


def check_parameters(
    construct: str, family: EngineFamily, parameters: object, prop: str = "parameters"
) -> None:
    """Parameter-group settings are a mapping of strings, and none of them weakens the TLS setting."""
    if not isinstance(parameters, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in parameters.items()
    ):
        raise PropValidationError(
            construct, prop, parameters, "allowed: a mapping of parameter names to string values"
        )
    for key, value in parameters.items():
        if key in family.tls_parameters and value != family.tls_parameters[key]:
            raise PropValidationError(
                construct,
                f"{prop}[{key!r}]",
                value,
                f"allowed: {family.tls_parameters[key]!r} only (TLS is always required)",
            )


def check_shared_groups(
    construct: str,
    parameter_group: object,
    parameters: object,
    subnet_group: object,
    vpc_subnets: object,
    *,
    parameter_group_kind: str = "rds.IParameterGroup",
) -> None:
    """An existing parameter group or subnet group is the right kind of object and does not silently
    drop a setting (``parameters`` would not reach an existing group; ``vpc_subnets`` would not reach
    an existing subnet group)."""
    check_interface(
        construct,
        "parameter_group",
        parameter_group,
        parameter_group_kind,
        ("bind_to_instance", "bind_to_cluster"),
        optional=True,
        example="dbpatterns.rds.shared.engine_parameter_group(...)",
    )
    check_interface(
        construct,
        "subnet_group",
        subnet_group,
        "rds.ISubnetGroup",
        ("subnet_group_name",),
        optional=True,
        example="rds.SubnetGroup(...)",
    )
    if parameter_group is not None and parameters:
        raise PropValidationError(
            construct,
            "parameters",
            dict(parameters) if isinstance(parameters, Mapping) else parameters,
            "allowed: none with parameter_group (set them on the shared group, which would otherwise "
            "silently ignore them)",
        )
    if subnet_group is not None and vpc_subnets is not None:
        raise PropValidationError(
            construct,
            "vpc_subnets",
            vpc_subnets,
            "allowed: None with subnet_group (the existing group decides the subnets)",
        )


def check_backup_retention(construct: str, value: object, prop: str = "backup_retention") -> None:
    check_duration(
        construct, prop, value, unit="days", minimum=MIN_BACKUP_RETENTION, maximum=MAX_BACKUP_RETENTION
    )


def check_secret_rotation(construct: str, value: object, prop: str = "secret_rotation") -> None:
    check_duration(construct, prop, value, unit="hours", minimum=MIN_ROTATION, maximum=MAX_ROTATION)


@functools.cache
def _known_instance_parts() -> tuple[frozenset[str], frozenset[str]]:
    """Instance families and sizes aws-cdk-lib's ``ec2.InstanceClass``/``InstanceSize`` enums know."""
    families = frozenset(
        ec2.InstanceType.of(klass, ec2.InstanceSize.LARGE).to_string().partition(".")[0]
        for klass in ec2.InstanceClass
    )
    sizes = frozenset(
        ec2.InstanceType.of(ec2.InstanceClass.M5, size).to_string().partition(".")[2]
        for size in ec2.InstanceSize
    )
    return families, sizes


def check_instance_type(construct: str, value: object, prop: str = "instance_type") -> str:
    """``value`` is an ``ec2.InstanceType`` of a family and size aws-cdk-lib knows; returns its name.

    RDS offers a subset of them per engine and region, which only AWS can tell at deploy time.
    """
    if not isinstance(value, ec2.InstanceType):
        raise PropValidationError(
            construct, prop, value, "allowed: an ec2.InstanceType, e.g. ec2.InstanceType('r7g.large')"
        )
    name = str(value.to_string())
    family, _, size = name.partition(".")
    families, sizes = _known_instance_parts()
    if family not in families or size not in sizes:
        raise PropValidationError(
            construct,
            prop,
            name,
            "allowed: an instance class and size of aws-cdk-lib's ec2.InstanceClass and "
            "ec2.InstanceSize, without the 'db.' prefix, e.g. 'r7g.large'",
        )
    return name
