"""The templates of the whole app, per profile, for the security gates (one synth per session)."""

from __future__ import annotations

import functools

from dbpatterns.common.profile import DeploymentProfile
from tests.gates.template_walk import Templates
from tests.support.synth import synthesize


@functools.cache
def app_templates(profile: DeploymentProfile) -> Templates:
    """``{stack name: template}`` of every stack :func:`tests.support.synth.synthesize` builds."""
    assembly = synthesize(profile)
    templates: Templates = {stack.stack_name: stack.template for stack in assembly.stacks_recursively}
    assert templates, "the app synthesized no stack"
    return templates
