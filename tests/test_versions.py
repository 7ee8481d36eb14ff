"""Every engine version the stacks pin is one aws-cdk-lib still lists."""

from __future__ import annotations

from typing import Any

import pytest

from dbpatterns.versions import PINNED


def _full_version(version: Any) -> str:
    for attribute in ("postgres_full_version", "aurora_postgres_full_version", "aurora_mysql_full_version"):
        if hasattr(version, attribute):
            return str(getattr(version, attribute))
    raise AssertionError(f"not an engine version: {version!r}")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_engine_version_is_a_member_of_aws_cdk_libs_enum(name: str) -> None:
    enum_class, pinned = PINNED[name]
    listed = {_full_version(getattr(enum_class, m)) for m in dir(enum_class) if m.startswith("VER_")}
    assert _full_version(pinned) in listed
