"""The social handlers' own time per request, with DynamoDB (moto) and the cache (Redis) taken out.

Run from the repository root (the shared Redis on 127.0.0.1:6379 is used when it answers)::

    .venv/bin/python benchmarks/social_latency.py [--requests 150] [--writes 60] [--posts 1000]

Each request goes through the real Lambda handler (Powertools resolver, validation, session check,
the store, JSON responses and metrics). DynamoDB is moto, in-process; sessions live in the shared
Redis with the table as fallback, as in a primary region. The handler's own time is the CPU time
of this process during the request (all threads: the feed's parallel queries count) **minus the
CPU time spent inside moto's emulation** of each DynamoDB call (measured around moto's request
hook). botocore's request building, signing and response parsing and redis-py's client work stay in
(they run in Lambda too); the Redis server's work is another process and never counted. CPU time,
not wall time, so a busy machine does not inflate the figure.

The "calls" columns count what the request sent to DynamoDB and to the cache, and the "estimate"
column adds, per round trip, a typical in-region latency (``DYNAMODB_CALL_MS``, ``CACHE_CALL_MS``
below: assumptions, not measurements), counting each feed bucket's parallel shard queries as one
round trip: the budget a region needs for its < 50 ms reads. Numbers from this machine, not AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import secrets
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_SERVICE_NAME": "social-benchmark",
        "POWERTOOLS_METRICS_NAMESPACE": "Benchmark",
    }
)

import boto3  # type: ignore[import-untyped, unused-ignore]
import redis
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from dbpatterns.handlers.social import graph, keys, posts, profiles, runtime, session_api
from dbpatterns.handlers.social.store import SocialStore
from dbpatterns.handlers.social.timeline import TimelineLayout
from dbpatterns.handlers.social.times import iso_from_ms

TABLE = "social-benchmark"
REDIS_PORT = 6379
SHARDS = TimelineLayout().shards
#: Typical in-region latency of one DynamoDB GetItem/Query/transaction from Lambda (single-digit ms).
DYNAMODB_CALL_MS = 5.0
#: One command to an ElastiCache node in the same VPC.
CACHE_CALL_MS = 0.5


@dataclass
class Meter:
    """Time spent in the emulated services, per thread, plus call counts."""

    moto_seconds: float = 0.0
    redis_seconds: float = 0.0
    dynamodb_calls: int = 0
    cache_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.moto_seconds = self.redis_seconds = 0.0
        self.dynamodb_calls = self.cache_calls = 0


METER = Meter()


@contextlib.contextmanager
def metered() -> Iterator[None]:
    """Measure time inside moto's request hook and inside redis-py commands."""
    original_moto = BotocoreStubber.__call__
    original_command = redis.Redis.execute_command
    original_pipeline = redis.client.Pipeline.execute

    def moto(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        # CPU time of this thread, not wall time: the feed's parallel queries wait for the GIL while
        # another thread's moto call runs, and that wait must not be subtracted twice.
        started = time.thread_time()
        try:
            return original_moto(self, event_name, request, **kwargs)
        finally:
            with METER.lock:
                METER.moto_seconds += time.thread_time() - started
                METER.dynamodb_calls += "dynamodb" in str(getattr(request, "url", ""))

    def command(self: redis.Redis, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_command(self, *args, **kwargs)
        finally:
            METER.redis_seconds += time.perf_counter() - started
            METER.cache_calls += 1

    def pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_pipeline(self, *args, **kwargs)
        finally:
            METER.redis_seconds += time.perf_counter() - started
            METER.cache_calls += 1

    BotocoreStubber.__call__ = moto  # type: ignore[method-assign]
    redis.Redis.execute_command = command  # type: ignore[method-assign]
    redis.client.Pipeline.execute = pipeline  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original_moto  # type: ignore[method-assign]
        redis.Redis.execute_command = original_command  # type: ignore[method-assign]
        redis.client.Pipeline.execute = original_pipeline  # type: ignore[method-assign]


class Context:
    function_name = "social-benchmark"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:social-benchmark"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/social-benchmark"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def event(
    method: str, path: str, *, body: Any = None, token: str | None = None, query: Any = None
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "v1",
            "path": f"/v1{path}",
            "httpMethod": method,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


@dataclass
class Result:
    name: str
    own_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    dynamodb_calls: int = 0
    cache_calls: int = 0
    parallel_queries: int = 0


def run(name: str, requests: int, make: Callable[[int], tuple[Any, dict[str, Any]]], expect: int) -> Result:
    result = Result(name)
    context = Context()
    for index in range(requests):
        module, request = make(index)
        METER.reset()
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools metrics go to stdout (EMF)
            started, cpu_started = time.perf_counter(), time.process_time()
            response = module.handler(request, context)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if response["statusCode"] != expect:
            raise RuntimeError(f"{name}: status {response['statusCode']}: {response['body']}")
        result.total_ms.append(elapsed * 1000)
        # CPU of this process (every thread, so the feed's parallel queries count) minus moto's CPU:
        # robust against the machine's load, and the Redis server's work is another process already.
        result.own_ms.append((cpu - METER.moto_seconds) * 1000)
        result.dynamodb_calls = METER.dynamodb_calls
        result.cache_calls = METER.cache_calls
    return result


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def create_table(client: Any) -> None:
    attributes = (keys.PARTITION_KEY, keys.SORT_KEY, keys.TIMELINE_PARTITION_KEY, keys.TIMELINE_SORT_KEY)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in attributes],
        GlobalSecondaryIndexes=[
            {
                "IndexName": keys.TIMELINE_INDEX,
                "KeySchema": [
                    {"AttributeName": keys.TIMELINE_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": keys.TIMELINE_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def redis_available() -> bool:
    try:
        redis.Redis(host="127.0.0.1", port=REDIS_PORT, socket_timeout=0.5).ping()
    except redis.RedisError:
        return False
    return True


def seed_posts(
    client: Any, store: SocialStore, users: list[tuple[str, str]], count: int, now: float
) -> list[str]:
    """Posts spread over the last 24 hours, written with BatchWriteItem: moto copies the whole table
    on every transaction, which would make seeding thousands of posts quadratic."""
    rng = random.Random(1)  # noqa: S311 - reproducible post times, not security
    moment = [now]
    seeding = SocialStore(client, store.config, clock=lambda: moment[0])
    post_ids: list[str] = []
    puts: list[dict[str, Any]] = []
    for index in range(count):
        moment[0] = now - rng.uniform(0, 86_400)
        view, items = seeding.post_transaction(users[index % len(users)][0], f"post number {index}")
        post_ids.append(view["post_id"])
        puts += [{"PutRequest": {"Item": item["Put"]["Item"]}} for item in items if "Put" in item]
        # Five likes per post, counted in the us-east-1 shard.
        puts.append(
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": keys.post_pk(view["post_id"])},
                        "sk": {"S": keys.counter_sk("us-east-1", 0)},
                        "likes": {"N": "5"},
                    }
                }
            }
        )
    for start in range(0, len(puts), 25):
        client.batch_write_item(RequestItems={TABLE: puts[start : start + 25]})
    return post_ids


def environment(secret_arn: str, cache: bool) -> None:
    os.environ.update(
        {
            "SOCIAL_TABLE_NAME": TABLE,
            "SOCIAL_REGIONS": "us-east-1,eu-west-1,ap-southeast-1",
            "HOME_REGION": "us-east-1",
            "CURSOR_SECRET_ID": secret_arn,
        }
    )
    if cache:
        os.environ.update(
            {
                "CACHE_READER_HOST": "127.0.0.1",
                "CACHE_PRIMARY_HOST": "127.0.0.1",
                "CACHE_PRIMARY_REGION": "us-east-1",
                "CACHE_PORT": str(REDIS_PORT),
                "CACHE_TLS": "false",
            }
        )


def sign_up(users: int, password: str) -> list[tuple[str, str]]:
    """Register and sign in ``users`` users through the handlers; returns (user_id, token) pairs."""
    context = Context()
    signed_up = []
    with contextlib.redirect_stdout(io.StringIO()):
        for index in range(users):
            signed_up.append(_sign_up_one(context, f"user{index}", password))
    return signed_up


def _sign_up_one(context: Context, handle: str, password: str) -> tuple[str, str]:
    body = {"handle": handle, "display_name": handle, "password": password}
    response = profiles.handler(event("POST", "/users", body=body), context)
    user_id = json.loads(response["body"])["user_id"]
    login = {"handle": handle, "password": password}
    response = session_api.handler(event("POST", "/sessions", body=login), context)
    return user_id, json.loads(response["body"])["token"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=150, help="read requests per kind (default 150)")
    parser.add_argument("--writes", type=int, default=60, help="write requests per kind (default 60)")
    parser.add_argument("--posts", type=int, default=1_000, help="posts in the last 24 hours (default 1000)")
    args = parser.parse_args()
    cache = redis_available()
    prefix = f"bench:{uuid.uuid4().hex}:"
    runtime.CACHE_KEY_PREFIX = prefix  # type: ignore[misc]
    password = "correct horse battery"  # noqa: S105 - a throwaway user of the emulated table
    layout = TimelineLayout()
    n = args.requests
    results: list[Result] = []

    # Reads: a table holding a day of posts.
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client)
        secret = boto3.client("secretsmanager").create_secret(
            Name="cursor", SecretString=secrets.token_urlsafe(48)
        )
        environment(secret["ARN"], cache)
        runtime.reset()
        users = sign_up(20, password)
        now = time.time()
        post_ids = seed_posts(client, runtime.services().store, users, args.posts, now)
        window = {"from": iso_from_ms(int((now - 86_400) * 1000)), "to": iso_from_ms(int(now * 1000) + 1)}
        with metered():
            results += [
                run(
                    "GET /users/{id} (profile + counters)",
                    n,
                    lambda i: (profiles, event("GET", f"/users/{users[i % 20][0]}")),
                    200,
                ),
                run(
                    "GET /posts/{id} (post + like shards)",
                    n,
                    lambda i: (posts, event("GET", f"/posts/{post_ids[i % len(post_ids)]}")),
                    200,
                ),
                run(
                    f"GET /feed (20 newest, {layout.shards} shards)",
                    n,
                    lambda i: (posts, event("GET", "/feed", query={**window, "limit": "20"})),
                    200,
                ),
                run(
                    "GET /users/{id}/posts (20)",
                    n,
                    lambda i: (
                        posts,
                        event("GET", f"/users/{users[i % 20][0]}/posts", query={"limit": "20"}),
                    ),
                    200,
                ),
            ]

    # Writes: a small table (moto copies the whole table on every transaction).
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client)
        secret = boto3.client("secretsmanager").create_secret(
            Name="cursor", SecretString=secrets.token_urlsafe(48)
        )
        environment(secret["ARN"], cache)
        runtime.reset()
        users = sign_up(20, password)
        post_ids = seed_posts(client, runtime.services().store, users, 100, time.time())
        writes = args.writes
        with metered():
            results += [
                run(
                    "POST /posts (authenticated)",
                    writes,
                    lambda i: (
                        posts,
                        event("POST", "/posts", body={"text": f"hi {i}"}, token=users[i % 20][1]),
                    ),
                    201,
                ),
                run(
                    "PUT /posts/{id}/like (authenticated)",
                    writes,
                    lambda i: (
                        graph,
                        event("PUT", f"/posts/{post_ids[i % 100]}/like", token=users[i % 20][1]),
                    ),
                    200,
                ),
                run(
                    "POST /sessions (scrypt + new session)",
                    min(writes, 50),
                    lambda i: (
                        session_api,
                        event("POST", "/sessions", body={"handle": f"user{i % 20}", "password": password}),
                    ),
                    201,
                ),
            ]

    if cache:
        shared = redis.Redis(host="127.0.0.1", port=REDIS_PORT)
        stale = list(shared.scan_iter(match=f"{prefix}*", count=1000))
        if stale:
            shared.delete(*stale)
    report(results, cache)


def report(results: list[Result], cache: bool) -> None:
    print(
        f"sessions: {'Redis on 127.0.0.1:6379 (local copy = primary)' if cache else 'table only (no Redis)'}"
    )
    print(
        f"{'request (own CPU, moto excluded, ms)':<44} {'p50':>6} {'p95':>6} {'with moto':>10} "
        f"{'ddb':>4} {'cache':>5} {'estimate':>9}"
    )
    for result in results:
        own50, own95 = percentile(result.own_ms, 0.5), percentile(result.own_ms, 0.95)
        calls = result.dynamodb_calls
        if "feed" in result.name:  # each bucket's shard queries run in parallel: one round trip per
            calls = math.ceil((calls - 1) / SHARDS) + 1  # bucket (refills rounded in), then the BatchGet
        estimate = own50 + calls * DYNAMODB_CALL_MS + result.cache_calls * CACHE_CALL_MS
        print(
            f"{result.name:<44} {own50:>6.2f} {own95:>6.2f} {statistics.median(result.total_ms):>10.2f} "
            f"{result.dynamodb_calls:>4} {result.cache_calls:>5} {estimate:>8.1f}"
        )
    print(
        f"estimate = own p50 + DynamoDB round trips x {DYNAMODB_CALL_MS} ms"
        f" + cache commands x {CACHE_CALL_MS} ms "
        "(assumed in-region latencies; each feed bucket's parallel shard queries count as one round trip)"
    )


if __name__ == "__main__":
    main()
