"""Import direction: read replicas and Aurora use rds.shared, never rds.instance (no import cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "constructs" / "dbpatterns"


def _imports(module: Path) -> set[str]:
    """Every module ``module`` imports, at any level (type-checking blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    "module",
    [
        "rds/read_replica.py",
        "rds/shared.py",
        "rds/monitoring.py",
        "rds/names.py",
        "rds/engines.py",
        "aurora/cluster.py",
        "aurora/clone.py",
        "aurora/global_database.py",
    ],
)
def test_module_does_not_import_rds_instance(module: str) -> None:
    assert "dbpatterns.rds.instance" not in _imports(PACKAGE / module)


def test_rds_instance_creates_replicas_through_the_read_replica_module() -> None:
    imports = _imports(PACKAGE / "rds" / "instance.py")
    assert "dbpatterns.rds.read_replica" in imports
    assert "dbpatterns.rds.shared" in imports
