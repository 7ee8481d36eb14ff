"""One snapshot per stack (production profile), asset hashes masked."""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from dbpatterns.common.profile import DeploymentProfile
from tests.aurora.conftest import SECONDARY, SHOWCASE, aurora_templates
from tests.support.synth import mask_assets

pytestmark = pytest.mark.synth


@pytest.mark.parametrize("stack_name", [SHOWCASE, SECONDARY])
def test_template_matches_snapshot(stack_name: str, snapshot: Any) -> None:
    template = aurora_templates(DeploymentProfile.PRODUCTION)[stack_name]
    assert mask_assets(template) == snapshot(extension_class=JSONSnapshotExtension)
