"""The mapping from an IAM caller to a customer id, shared by the processor and the read API."""

from __future__ import annotations

import pytest

from dbpatterns.handlers.flash_sale.identity import (
    CallerIdentity,
    UnmappableCallerError,
    customer_id_of,
)
from tests.handlers.flash_sale.support import ACCOUNT, caller_arn, string_attribute

COGNITO_ROLE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Cognito_ShopAuth_Role/CognitoIdentityCredentials"


@pytest.mark.parametrize(
    ("caller", "customer_id"),
    [
        pytest.param(CallerIdentity(user_arn=caller_arn("c-42")), "c-42", id="role-session"),
        pytest.param(
            CallerIdentity(user_arn=f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/shop/c_42"),
            "c_42",
            id="other-partition",
        ),
        pytest.param(
            CallerIdentity(
                user_arn=COGNITO_ROLE_SESSION,
                cognito_identity_id="eu-west-1:0f8b7c1e-5d7a-4c1b-9e55-3f1d2f6a9b10",
            ),
            "eu-west-1_0f8b7c1e-5d7a-4c1b-9e55-3f1d2f6a9b10",
            id="cognito-identity-wins-over-its-fixed-session-name",
        ),
    ],
)
def test_maps_a_caller_to_its_customer_id(caller: CallerIdentity, customer_id: str) -> None:
    assert customer_id_of(caller) == customer_id


@pytest.mark.parametrize(
    "caller",
    [
        pytest.param(CallerIdentity(user_arn=None), id="no-identity"),
        pytest.param(CallerIdentity(user_arn=f"arn:aws:iam::{ACCOUNT}:user/c-42"), id="iam-user"),
        pytest.param(CallerIdentity(user_arn=f"arn:aws:iam::{ACCOUNT}:root"), id="root"),
        pytest.param(
            CallerIdentity(user_arn=f"arn:aws:sts::{ACCOUNT}:federated-user/c-42"), id="federated-user"
        ),
        pytest.param(CallerIdentity(user_arn=caller_arn("c.42@example.com")), id="session-not-a-customer-id"),
        pytest.param(CallerIdentity(user_arn=caller_arn("c-42") + "/extra"), id="malformed-arn"),
    ],
)
def test_refuses_a_caller_that_is_no_customer(caller: CallerIdentity) -> None:
    with pytest.raises(UnmappableCallerError):
        customer_id_of(caller)


def test_admits_only_sessions_of_the_listed_customer_roles() -> None:
    roles = {"storefront-customer"}

    assert customer_id_of(CallerIdentity(user_arn=caller_arn("c-42")), customer_roles=roles) == "c-42"
    with pytest.raises(UnmappableCallerError, match="not a session of a customer role"):
        customer_id_of(CallerIdentity(user_arn=caller_arn("c-42", role="operations")), customer_roles=roles)
    with pytest.raises(UnmappableCallerError, match="not a session of a customer role"):
        customer_id_of(
            CallerIdentity(user_arn=COGNITO_ROLE_SESSION, cognito_identity_id="us-east-1:abc"),
            customer_roles=roles,
        )


def test_reads_the_caller_the_api_stamped_on_a_message() -> None:
    attributes = {
        "caller_user_arn": string_attribute(caller_arn("c-42")),
        "caller_cognito_identity_id": string_attribute("us-east-1:0f8b7c1e"),
        "unrelated": string_attribute("x"),
    }

    assert CallerIdentity.from_message_attributes(attributes) == CallerIdentity(
        user_arn=caller_arn("c-42"), cognito_identity_id="us-east-1:0f8b7c1e"
    )
    assert CallerIdentity.from_message_attributes({}) is None
    assert CallerIdentity.from_message_attributes({"caller_user_arn": {"stringValue": ""}}) is None
