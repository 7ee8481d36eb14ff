"""The handlers behind API Gateway, end to end against moto (sessions in the table: no cache here)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dbpatterns.handlers.social import graph, health, posts, profiles, runtime, session_api
from tests.handlers.ledger.support import FakeLambdaContext
from tests.handlers.social.conftest import SocialTable
from tests.handlers.social.support import api_event

PASSWORD = "correct horse battery"


def call(module: Any, event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, Any, dict[str, str]]:
    response = module.handler(event, context)
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], body, headers


def register_and_login(context: FakeLambdaContext, handle: str) -> tuple[str, str]:
    status, body, _ = call(
        profiles,
        api_event(
            "POST", "/users", body={"handle": handle, "display_name": handle.title(), "password": PASSWORD}
        ),
        context,
    )
    assert status == 201, body
    status, session, _ = call(
        session_api, api_event("POST", "/sessions", body={"handle": handle, "password": PASSWORD}), context
    )
    assert status == 201, session
    return body["user_id"], session["token"]


def test_a_user_registers_signs_in_posts_and_is_liked_and_followed(
    social: SocialTable, lambda_context: FakeLambdaContext
) -> None:
    alice, alice_token = register_and_login(lambda_context, "alice")
    bob, bob_token = register_and_login(lambda_context, "bob")

    status, post, _ = call(
        posts, api_event("POST", "/posts", body={"text": "hello world"}, token=alice_token), lambda_context
    )
    assert status == 201
    status, liked, _ = call(
        graph, api_event("PUT", f"/posts/{post['post_id']}/like", token=bob_token), lambda_context
    )
    assert (status, liked["changed"]) == (200, True)
    _, again, _ = call(
        graph, api_event("PUT", f"/posts/{post['post_id']}/like", token=bob_token), lambda_context
    )
    assert again["changed"] is False
    status, _, _ = call(graph, api_event("PUT", f"/users/{alice}/follow", token=bob_token), lambda_context)
    assert status == 200

    _, fetched, _ = call(posts, api_event("GET", f"/posts/{post['post_id']}"), lambda_context)
    assert fetched["likes"] == 1
    _, profile, _ = call(profiles, api_event("GET", f"/users/{alice}"), lambda_context)
    assert (profile["handle"], profile["followers"], profile["posts"]) == ("alice", 1, 1)
    _, listed, _ = call(posts, api_event("GET", f"/users/{alice}/posts"), lambda_context)
    assert [p["post_id"] for p in listed["posts"]] == [post["post_id"]]
    assert bob


def test_a_user_changes_their_profile_and_handle(
    social: SocialTable, lambda_context: FakeLambdaContext
) -> None:
    alice, token = register_and_login(lambda_context, "alice")

    status, profile, _ = call(
        profiles,
        api_event("PATCH", f"/users/{alice}", body={"bio": "hi", "handle": "alicia"}, token=token),
        lambda_context,
    )

    assert status == 200, profile
    assert (profile["bio"], profile["handle"]) == ("hi", "alicia")
    status, _, _ = call(
        session_api,
        api_event("POST", "/sessions", body={"handle": "alicia", "password": PASSWORD}),
        lambda_context,
    )
    assert status == 201


def test_refuses_a_taken_handle_with_409(social: SocialTable, lambda_context: FakeLambdaContext) -> None:
    register_and_login(lambda_context, "alice")
    status, body, _ = call(
        profiles,
        api_event("POST", "/users", body={"handle": "ALICE", "display_name": "x", "password": PASSWORD}),
        lambda_context,
    )
    assert (status, body["code"]) == (409, "HANDLE_TAKEN")


def test_refuses_changing_someone_elses_profile_with_403(
    social: SocialTable, lambda_context: FakeLambdaContext
) -> None:
    alice, _ = register_and_login(lambda_context, "alice")
    _, bob_token = register_and_login(lambda_context, "bob")
    status, _, _ = call(
        profiles, api_event("PATCH", f"/users/{alice}", body={"bio": "x"}, token=bob_token), lambda_context
    )
    assert status == 403


@pytest.mark.parametrize(
    ("token", "expected"),
    [(None, 401), ("not-a-session-token-at-all-0000", 401)],
)
def test_refuses_posting_without_a_valid_session(
    social: SocialTable, lambda_context: FakeLambdaContext, token: str | None, expected: int
) -> None:
    status, body, _ = call(
        posts, api_event("POST", "/posts", body={"text": "x"}, token=token), lambda_context
    )
    assert (status, body["code"]) == (expected, "UNAUTHORIZED")


def test_refuses_a_wrong_password_and_an_unknown_handle_alike(
    social: SocialTable, lambda_context: FakeLambdaContext
) -> None:
    register_and_login(lambda_context, "alice")
    wrong = call(
        session_api,
        api_event("POST", "/sessions", body={"handle": "alice", "password": "x" * 12}),
        lambda_context,
    )
    unknown = call(
        session_api,
        api_event("POST", "/sessions", body={"handle": "nobody", "password": "x" * 12}),
        lambda_context,
    )
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1]


def test_logout_ends_the_session(social: SocialTable, lambda_context: FakeLambdaContext) -> None:
    _, token = register_and_login(lambda_context, "alice")
    status, _, _ = call(session_api, api_event("DELETE", "/sessions", token=token), lambda_context)
    assert status == 204
    status, _, _ = call(posts, api_event("POST", "/posts", body={"text": "x"}, token=token), lambda_context)
    assert status == 401
    status, _, _ = call(session_api, api_event("POST", "/sessions/refresh", token=token), lambda_context)
    assert status == 401


@pytest.mark.parametrize(
    ("module", "method", "path", "body", "field"),
    [
        (profiles, "POST", "/users", {"handle": "a!", "display_name": "A", "password": PASSWORD}, "handle"),
        (profiles, "POST", "/users", {"handle": "alice", "display_name": "A"}, "password"),
        (
            profiles,
            "POST",
            "/users",
            {"handle": "alice", "display_name": "A", "password": "short"},
            "password",
        ),
        (
            profiles,
            "POST",
            "/users",
            {"handle": "alice", "display_name": "A", "password": PASSWORD, "x": 1},
            "x",
        ),
        (profiles, "POST", "/users", [1, 2], "body"),
        (session_api, "POST", "/sessions", {"handle": "alice", "password": 12}, "password"),
        (posts, "GET", "/posts/not-a-ulid", None, "post_id"),
        (profiles, "GET", "/users/not-a-ulid", None, "user_id"),
    ],
)
def test_malformed_input_is_400_naming_the_field(
    social: SocialTable,
    lambda_context: FakeLambdaContext,
    module: Any,
    method: str,
    path: str,
    body: Any,
    field: str,
) -> None:
    status, error, _ = call(module, api_event(method, path, body=body), lambda_context)
    assert status == 400
    assert (error["code"], error["field"]) == ("MALFORMED_REQUEST", field)


def test_an_invalid_json_body_is_400(social: SocialTable, lambda_context: FakeLambdaContext) -> None:
    for raw in ("{", '{"handle": "a", "handle": "b"}', "NaN"):
        status, error, _ = call(profiles, api_event("POST", "/users", raw_body=raw), lambda_context)
        assert status == 400, raw
        assert error["code"] == "MALFORMED_REQUEST"


def test_a_profile_change_needs_at_least_one_field(
    social: SocialTable, lambda_context: FakeLambdaContext
) -> None:
    alice, token = register_and_login(lambda_context, "alice")
    status, error, _ = call(
        profiles, api_event("PATCH", f"/users/{alice}", body={}, token=token), lambda_context
    )
    assert (status, error["field"]) == (400, "body")


def test_registration_in_a_secondary_answers_503_when_the_home_region_is_unreachable(
    social: SocialTable, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-1")
    monkeypatch.setenv("HOME_DYNAMODB_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: refused at once
    runtime.reset()

    status, body, headers = call(
        profiles,
        api_event("POST", "/users", body={"handle": "alice", "display_name": "A", "password": PASSWORD}),
        lambda_context,
    )

    assert (status, body["code"]) == (503, "HOME_REGION_UNAVAILABLE")
    assert int(headers["Retry-After"]) > 0


def test_health_reports_the_table(social: SocialTable, lambda_context: FakeLambdaContext) -> None:
    status, body, _ = call(health, api_event("GET", "/health"), lambda_context)
    assert status == 200
    assert body["checks"]["table"]["ok"] is True
