"""Checks that a prop typed with a jsii interface (``ec2.IVpc``, ``kms.IKey``...) holds one.

jsii interfaces are Protocols that ``isinstance`` cannot test, and a wrong object (a VPC ID string
where a VPC is needed) otherwise ends in a JavaScript error deep inside aws-cdk-lib. These checks look
for the members the interface promises, so imported resources (``Vpc.from_lookup``, ``Key.from_key_arn``)
pass like the ones defined in the app.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2

from dbpatterns.common.validation import PropValidationError


def check_interface(
    construct: str,
    prop: str,
    value: object,
    interface: str,
    members: Sequence[str],
    *,
    optional: bool = False,
    example: str = "",
) -> None:
    """Fail unless ``value`` has every member of ``interface`` (or is ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if value is None or not all(hasattr(value, member) for member in members):
        hint = f", e.g. {example}" if example else ""
        raise PropValidationError(construct, prop, value, f"allowed: an {interface}{hint}")


def check_vpc(construct: str, value: object, prop: str = "vpc") -> None:
    check_interface(
        construct, prop, value, "ec2.IVpc", ("vpc_id", "select_subnets"), example="IsolatedNetwork(...).vpc"
    )


def check_key(construct: str, value: object, prop: str = "encryption_key", *, optional: bool = True) -> None:
    check_interface(
        construct, prop, value, "kms.IKey", ("key_arn", "grant_encrypt_decrypt"), optional=optional
    )


def check_interface_endpoint(construct: str, value: object, prop: str) -> None:
    check_interface(
        construct, prop, value, "ec2.IInterfaceVpcEndpoint", ("vpc_endpoint_id", "connections"), optional=True
    )


def check_subnet_selection(construct: str, value: object, prop: str = "vpc_subnets") -> None:
    if value is not None and not isinstance(value, ec2.SubnetSelection):
        raise PropValidationError(
            construct,
            prop,
            value,
            "allowed: an ec2.SubnetSelection, e.g. "
            "ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED), or None",
        )
