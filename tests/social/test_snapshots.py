"""One JSON snapshot per social stack (production profile), asset hashes masked."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from dbpatterns.common.profile import DeploymentProfile
from tests.social.support import template
from tests.support.synth import mask_assets

pytestmark = pytest.mark.synth


@pytest.mark.parametrize(
    "stack_name",
    [
        "DbPatterns-SocialBase-Secondary1",
        "DbPatterns-SocialBase-Secondary2",
        "DbPatterns-SocialGlobal",
        "DbPatterns-SocialRegion-Primary",
        "DbPatterns-SocialRegion-Secondary1",
        "DbPatterns-SocialRegion-Secondary2",
    ],
)
def test_template_matches_snapshot(stack_name: str, snapshot: SnapshotAssertion) -> None:
    assert mask_assets(template(stack_name, DeploymentProfile.PRODUCTION)) == snapshot(
        extension_class=JSONSnapshotExtension
    )
