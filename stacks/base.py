"""The base class of every stack in this app."""

from __future__ import annotations

from dbpatterns.common.network import DeployTimeAzStack


class ReferenceStack(DeployTimeAzStack):
    """A stack whose availability zones are resolved by CloudFormation at deploy time.

    A stack with a concrete account and region normally asks AWS for its AZ names during synth
    (a context lookup that needs credentials), and ``ec2.Vpc`` reads them even when it is given AZ
    tokens. Answering with ``Fn::Select [i, Fn::GetAZs ""]`` keeps synth free of lookups, keeps AZ
    names out of the templates (cfn-lint W3010) and works in any account, whose AZ names differ.
    The library's :class:`~dbpatterns.common.network.DeployTimeAzStack` does this; the app's stacks
    share it through this class.
    """
