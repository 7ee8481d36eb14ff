"""AWS Backup for the app's databases: the plan in the primary region, a copy vault in the first
secondary region (disaster recovery)."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_backup as backup
from constructs import Construct

from dbpatterns.backup import (
    DatabaseBackupPlan,
    DatabaseBackupPlanProps,
    EncryptedBackupVault,
    EncryptedBackupVaultProps,
)
from dbpatterns.common.profile import DeploymentProfile
from stacks.base import ReferenceStack

#: Physical name of the copy vault: the primary region's plan names it in its copy rule.
COPY_VAULT_NAME = "dbpatterns-dr-copies"


class BackupCopyVaultStack(ReferenceStack):
    """The vault of the secondary region that receives a copy of every recovery point."""

    def __init__(
        self, scope: Construct, construct_id: str, *, profile: DeploymentProfile, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vault = EncryptedBackupVault(
            self, "Copies", EncryptedBackupVaultProps(profile=profile, vault_name=COPY_VAULT_NAME)
        )


class BackupStack(ReferenceStack):
    """The primary region's vault and plan (daily and monthly, copied to ``copies``' region).

    Each stack with databases adds a :class:`~dbpatterns.backup.DatabaseBackupSelection` that lists
    them by ARN, with this stack's ``plan`` and ``role``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        copies: BackupCopyVaultStack | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vault = EncryptedBackupVault(self, "Vault", EncryptedBackupVaultProps(profile=profile))
        copy_vault = None
        if copies is not None:
            # Named by ARN (a cross-region reference would need custom resources): order the stacks.
            copy_vault = backup.BackupVault.from_backup_vault_arn(
                self,
                "CopyVault",
                Stack.of(self).format_arn(
                    service="backup",
                    region=copies.region,
                    resource="backup-vault",
                    resource_name=COPY_VAULT_NAME,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
            )
            self.add_stack_dependency(copies, "The plan copies recovery points into that region's vault")
        self.backup = DatabaseBackupPlan(
            self,
            "Plan",
            DatabaseBackupPlanProps(profile=profile, vault=self.vault.vault, copy_vault=copy_vault),
        )
