"""AWS Backup for the app's databases: an encrypted (locked in production) vault, a daily and monthly
plan with a cross-region copy, and per-stack selections that list each stack's databases."""

from dbpatterns.backup.plan import DatabaseBackupPlan, DatabaseBackupPlanProps
from dbpatterns.backup.selection import DatabaseBackupSelection, DatabaseBackupSelectionProps, databases_in
from dbpatterns.backup.vault import EncryptedBackupVault, EncryptedBackupVaultProps

__all__ = [
    "DatabaseBackupPlan",
    "DatabaseBackupPlanProps",
    "DatabaseBackupSelection",
    "DatabaseBackupSelectionProps",
    "EncryptedBackupVault",
    "EncryptedBackupVaultProps",
    "databases_in",
]
