"""Session-wide templates of the tenancy stacks (test catalog), one synth per profile."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from dbpatterns.common.profile import DeploymentProfile
from tests.tenancy.support import ENTERPRISE, POOL, SHARED, STANDARD, Synthesized, synthesized


@pytest.fixture(scope="session")
def production() -> Synthesized:
    return synthesized(DeploymentProfile.PRODUCTION)


@pytest.fixture(scope="session")
def sandbox() -> Synthesized:
    return synthesized(DeploymentProfile.SANDBOX)


@pytest.fixture(scope="session")
def shared(production: Synthesized) -> Template:
    return Template.from_json(production.templates[SHARED])


@pytest.fixture(scope="session")
def pool(production: Synthesized) -> Template:
    return Template.from_json(production.templates[POOL])


@pytest.fixture(scope="session")
def standard(production: Synthesized) -> Template:
    return Template.from_json(production.templates[STANDARD])


@pytest.fixture(scope="session")
def enterprise(production: Synthesized) -> Template:
    return Template.from_json(production.templates[ENTERPRISE])
