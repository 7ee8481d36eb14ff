"""MAX_PER_DATABASE_GRANTS: that many per-database login policies fit on the API role.

IAM counts a role's inline policies together, without white space, against 10,240 characters ("Role
policy size", IAM quotas). The policies are rendered here with realistic values in place of the
tokens: a 26-character resource id (``db-`` + 26 or ``cluster-`` + 26), a 12-digit account, the longest
commercial region name and CDK's generated names.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dbpatterns.tenancy.tenant_api import MAX_PER_DATABASE_GRANTS
from tests.tenancy.support import ENTERPRISE, SHARED, Synthesized

pytestmark = pytest.mark.synth

ROLE_POLICY_SIZE_LIMIT = 10_240
MANAGED_POLICY_SIZE_LIMIT = 6_144
_REGION = "ap-southeast-5"


def _concrete(document: Any) -> str:
    """The policy document as IAM stores it: tokens replaced by values of realistic length."""
    text = json.dumps(document, separators=(",", ":"))
    text = re.sub(
        r'\{"Fn::GetAtt":\["[A-Za-z0-9]+","(DbiResourceId|DBClusterResourceId)"\]\}',
        '"cluster-' + "X" * 26 + '"',
        text,
    )
    text = re.sub(
        r'\{"Fn::GetAtt":\["[A-Za-z0-9]+","Arn"\]\}',
        '"arn:aws:dynamodb:' + _REGION + ":123456789012:table/" + "T" * 60 + '"',
        text,
    )
    text = re.sub(r'\{"Fn::GetStackOutput":\{[^}]*\}\}', '"' + "R" * 64 + '"', text)
    text = re.sub(r'\{"Ref":"[A-Za-z0-9]+"\}', '"' + "N" * 64 + '"', text)
    text = text.replace("us-east-1", _REGION)
    # Fn::Join of literal parts renders as the joined string.
    while (match := re.search(r'\{"Fn::Join":\["",\[((?:"[^"]*",?)+)\]\]\}', text)) is not None:
        joined = "".join(json.loads("[" + match.group(1) + "]"))
        text = text[: match.start()] + json.dumps(joined) + text[match.end() :]
    return text


def test_the_largest_fleet_of_per_database_policies_fits_the_role(production: Synthesized) -> None:
    shared = production.templates[SHARED]
    role_id = next(
        k
        for k in shared["Resources"]
        if k.startswith("ApiHandlerRole") and shared["Resources"][k]["Type"] == "AWS::IAM::Role"
    )
    # The role's own grants are a customer-managed policy (ManagedPolicyRole), which IAM does not
    # count against the role's inline budget; it has its own limit of 6,144 characters.
    own = [
        r["Properties"]["PolicyDocument"]
        for r in shared["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    assert own, "the API role's own policy"
    assert not [
        r
        for r in shared["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    assert sum(len(_concrete(d)) for d in own) <= MANAGED_POLICY_SIZE_LIMIT
    enterprise = production.templates[ENTERPRISE]
    [connect] = [
        r["Properties"]["PolicyDocument"]
        for r in enterprise["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and "rds-db:connect" in json.dumps(r)
    ]
    per_database = len(_concrete(connect))
    assert "Fn::" not in _concrete(connect)
    total = MAX_PER_DATABASE_GRANTS * per_database
    assert total <= ROLE_POLICY_SIZE_LIMIT, (per_database, total)
    # ... and the limit is not needlessly low: a quarter more would not fit.
    assert int(MAX_PER_DATABASE_GRANTS * 1.25) * per_database > ROLE_POLICY_SIZE_LIMIT * 0.9
