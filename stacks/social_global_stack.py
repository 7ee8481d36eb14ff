"""The social platform's primary region: the global table, the session cache's primary, peering.

Deployed after every ``SocialBaseStack`` (it needs their keys) and before every ``SocialRegionStack``.
The VPCs are the regions' network stacks' (one VPC per region).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, CfnOutput, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.dynamodb.table import TableReplica
from dbpatterns.social.peering import VpcPeering, VpcPeeringProps
from dbpatterns.social.table import SocialTable, SocialTableProps
from stacks.base import ReferenceStack
from stacks.social_base_stack import SocialBaseStack
from stacks.social_cache import add_primary_session_cache

#: Bytes of the cursor-signing key (HMAC-SHA256 wants at least 32).
CURSOR_KEY_LENGTH = 64


class SocialGlobalStack(ReferenceStack):
    """Primary (home) region, in the region's VPC (``vpc``, block ``cidr``): data key, the global
    table with a replica (and key) in each secondary region, the cursor-signing key replicated to
    them, the session cache's primary group and global datastore, peering to each secondary VPC, and
    the DynamoDB interface endpoint through which the secondaries write handle claims here.

    Exposes ``vpc``, ``cidr``, ``key``, ``table``, ``cursor_secret``, ``global_datastore``,
    ``session_cache``, ``peerings`` (secondary stack name -> :class:`VpcPeering`) and ``home_endpoint``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        vpc: ec2.IVpc,
        cidr: str,
        secondaries: Sequence[SocialBaseStack],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vpc = vpc
        self.cidr = cidr
        self.key = create_key(
            self,
            "DataKey",
            description="Encrypts the social platform's data in the primary region: table, cache, secrets",
            profile=profile,
        )
        self.table = SocialTable(
            self,
            "SocialTable",
            SocialTableProps(
                profile=profile,
                encryption_key=self.key,
                replicas=[TableReplica(region=base.region, encryption_key=base.key) for base in secondaries],
            ),
        )
        self.cursor_secret = secretsmanager.Secret(
            self,
            "CursorKey",
            description="Signs the social API's pagination cursors (replicated to every region)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=CURSOR_KEY_LENGTH, exclude_punctuation=True, include_space=False
            ),
            replica_regions=[
                secretsmanager.ReplicaRegion(region=base.region, encryption_key=base.key)
                for base in secondaries
            ],
            removal_policy=profile.removal_policy,
        )
        manual_rotation = (
            "The cursor-signing key only makes pagination cursors tamper-evident; rotating it "
            "invalidates the cursors clients hold (they restart at page one), so it is rotated by hand."
        )
        acknowledge(self.cursor_secret, "AwsSolutions-SMG4", manual_rotation)
        acknowledge_framework_rule(self.cursor_secret, "SecretsManagerRotationEnabled", manual_rotation)
        peer_cidrs = [base.cidr for base in secondaries]
        self.global_datastore, self.session_cache = add_primary_session_cache(
            self,
            profile=profile,
            vpc=vpc,
            key=self.key,
            secondary_keys={base.region: base.key for base in secondaries},
            peer_cidrs=peer_cidrs,
        )
        self.peerings: dict[str, VpcPeering] = {}
        for index, base in enumerate(secondaries):
            self.peerings[base.stack_name] = VpcPeering(
                self,
                f"Peering{index}",
                VpcPeeringProps(vpc=vpc, peer_vpc=base.vpc, peer_region=base.region, peer_cidr=base.cidr),
            )

        endpoint_security_group = ec2.SecurityGroup(
            self,
            "HomeTableEndpointSecurityGroup",
            vpc=vpc,
            description="DynamoDB interface endpoint: HTTPS from the handlers of the peered regions",
            allow_all_outbound=False,
        )
        for peer_cidr in peer_cidrs:
            endpoint_security_group.add_ingress_rule(
                ec2.Peer.ipv4(peer_cidr), ec2.Port.tcp(443), "Peered region"
            )
        # Handlers here use the free gateway endpoint; this one serves the other regions' handle claims.
        self.home_endpoint = ec2.InterfaceVpcEndpoint(
            self,
            "HomeTableEndpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointAwsService.DYNAMODB,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[endpoint_security_group],
            private_dns_enabled=False,
            open=False,
        )

        # Values the other regions' stacks read with Fn::GetStackOutput. They are derived here (Fn::Split
        # of this stack's own attributes), because CloudFormation does not split another stack's output.
        self._publish("CursorKeyName", _name_with_suffix(self.cursor_secret), "Cursor key secret name")
        self._publish(
            "SessionCacheAuthTokenName",
            _name_with_suffix(self.global_datastore.primary.auth_token),
            "Session cache AUTH token secret name",
        )
        dns_entry = Fn.select(0, self.home_endpoint.vpc_endpoint_dns_entries)
        self._publish(
            "HomeTableEndpointUrl",
            Fn.join("", ["https://", Fn.select(1, Fn.split(":", dns_entry))]),
            "DynamoDB interface endpoint of the home region (handle claims from the other regions)",
        )

    def _publish(self, output_id: str, value: str, description: str) -> None:
        CfnOutput(self, output_id, value=value, description=description)

    def published(self, consumer: Stack, output_id: str) -> str:
        """An output of this stack read by ``consumer`` (which then deploys after this stack)."""
        consumer.add_stack_dependency(self, "Reads this stack's outputs with Fn::GetStackOutput")
        return Fn.get_stack_output(self.stack_name, output_id, self.region)

    def replica_secret_arn(self, consumer: Stack, output_id: str) -> str:
        """The ARN, in ``consumer``'s region, of a secret this stack replicates there."""
        name_with_suffix = self.published(consumer, output_id)
        return Fn.join(
            ":",
            [
                "arn",
                Aws.PARTITION,
                "secretsmanager",
                consumer.region,
                Aws.ACCOUNT_ID,
                "secret",
                name_with_suffix,
            ],
        )


def _name_with_suffix(secret: secretsmanager.Secret) -> str:
    """``name-AbCdEf`` from the secret's ARN, through the L1 ``Ref`` (``Secret.secret_arn`` refuses to be
    used across regions for a secret without a physical name)."""
    resource = secret.node.default_child
    assert isinstance(resource, secretsmanager.CfnSecret)
    return Fn.select(6, Fn.split(":", resource.ref))
