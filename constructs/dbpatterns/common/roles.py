"""IAM roles whose permissions live in a customer-managed policy rather than an inline one.

aws-cdk-lib's ``grant_*`` methods add statements to a role's ``DefaultPolicy``, an inline
``AWS::IAM::Policy``. NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1 (cdk-nag's
``IAMNoInlinePolicy``) want permissions in managed policies, which IAM versions, lists on their own and
can attach elsewhere. :class:`ManagedPolicyRole` is a drop-in ``iam.Role`` whose grants go to one
``AWS::IAM::ManagedPolicy`` attached to it: the same least-privilege statements, in a managed policy.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

#: Construct ID of the role's managed policy (a child of the role).
POLICY_ID = "Policy"


class ManagedPolicyRole(iam.Role):
    """An ``iam.Role`` (same props) whose principal policy is a customer-managed policy.

    ``grant_*``, ``add_to_principal_policy`` and ``add_to_policy`` put their statements in
    ``policy`` (created with the first statement); IAM versions it on every change. A managed policy
    holds at most 6,144 characters, so keep one role per function or service, as the library does.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._policy: iam.ManagedPolicy | None = None

    @property
    def policy(self) -> iam.ManagedPolicy | None:
        """The managed policy holding the role's grants - ``None`` until the first one."""
        return self._policy

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        if self._policy is None:
            self._policy = iam.ManagedPolicy(self, POLICY_ID, roles=[self])
        self._policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._policy)
