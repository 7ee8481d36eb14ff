"""One JSON snapshot per ElastiCache stack (production profile), asset hashes masked."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import mask_assets, stack_template_json

pytestmark = pytest.mark.synth


@pytest.mark.parametrize(
    "stack_name",
    [
        "DbPatterns-ElastiCacheShowcase",
        "DbPatterns-ElastiCacheSecondary1",
        "DbPatterns-ElastiCacheSecondary2",
    ],
)
def test_template_matches_snapshot(stack_name: str, snapshot: SnapshotAssertion) -> None:
    template = stack_template_json(stack_name, DeploymentProfile.PRODUCTION)
    assert mask_assets(template) == snapshot(extension_class=JSONSnapshotExtension)
