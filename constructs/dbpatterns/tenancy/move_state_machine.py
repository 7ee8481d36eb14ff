"""The Step Functions state machine that moves a tenant between tiers with AWS DMS, writing the move's
states into the tenant directory with conditional UpdateItem calls (no Lambda).

The directory contract (the same one ``dbpatterns.runtime.tenancy.directory`` and the local move engine
follow): the tenant item ``pk = "tenant#<id>"`` has ``tier``, ``database_id``, ``status`` and a numeric
``version``. A move walks ``active -> copying -> catching_up -> cutover -> verifying -> active`` (on the
target); during ``cutover`` the data-access library refuses writes (retryably) and serves reads. Every
transition is one conditional write: ``#status = :expected AND #version = :v``, setting the new status
and ``version = :v + 1``. The start also needs ``attribute_not_exists(move)`` and sets the ``move`` map;
the flip sets ``database_id``, ``tier``, ``status = active`` and ``previous`` and removes ``move``; a
rollback (from any state before the flip) sets ``status = active`` and removes ``move``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from dbpatterns.common.durations import Unit, check_duration
from dbpatterns.common.encryption import allow_cloudwatch_logs, create_key
from dbpatterns.common.interfaces import check_key
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError, check_instance, construct_label
from dbpatterns.runtime.tenancy.schema import TENANT_TABLES
from dbpatterns.tenancy.directory_table import TenantDirectoryTable

#: Tenant statuses of the move contract.
ACTIVE = "active"
COPYING = "copying"
CATCHING_UP = "catching_up"
CUTOVER = "cutover"
VERIFYING = "verifying"
#: The statuses a move can be rolled back from (everything before the flip).
ROLLBACK_FROM = (COPYING, CATCHING_UP, CUTOVER, VERIFYING)
#: The directory's cache TTL in the data-access library: after it, no reader routes by the old item.
DIRECTORY_CACHE_TTL = Duration.seconds(30)
#: The item actions the state machine needs on the directory (read the version, conditional writes).
DIRECTORY_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
#: Validation states that fail a move (DMS ``ReplicationTableStatistics.ValidationState``).
BAD_VALIDATION_STATES = (
    "Mismatched records",
    "Suspended records",
    "No primary key",
    "Table error",
    "Error",
    "Not enabled",
)
#: DMS Serverless replication statuses that end a move.
FAILED_REPLICATION_STATUSES = ("failed", "stopped", "deleting", "error")
#: Errors of a DynamoDB write that say it was not applied, so repeating it is safe.
_THROTTLED = (
    "DynamoDb.ProvisionedThroughputExceededException",
    "DynamoDb.ThrottlingException",
    "DynamoDb.RequestLimitExceeded",
)
_MS = 1000
#: Defaults of :class:`TenantMoveStateMachineProps`.
DEFAULT_POLL_INTERVAL = Duration.seconds(30)
DEFAULT_CATCH_UP_LATENCY = Duration.seconds(5)
DEFAULT_DRAIN_LATENCY = Duration.seconds(0)
DEFAULT_FULL_LOAD_TIMEOUT = Duration.hours(12)
DEFAULT_CATCH_UP_TIMEOUT = Duration.hours(2)
DEFAULT_CUTOVER_TIMEOUT = Duration.minutes(10)
DEFAULT_VERIFY_TIMEOUT = Duration.hours(1)
DEFAULT_KEEP_SOURCE_FOR = Duration.days(7)


@dataclass(frozen=True, kw_only=True)
class TenantMoveStateMachineProps:
    """Props of :class:`TenantMoveStateMachine`."""

    directory: TenantDirectoryTable
    """The tenant directory the move's states are written to."""
    profile: DeploymentProfile
    """Sandbox or production: log retention and the key's removal follow it."""
    poll_interval: Duration = DEFAULT_POLL_INTERVAL
    """Time between two looks at DMS or CloudWatch - 30 seconds (10 s to 5 min)."""
    catch_up_latency: Duration = DEFAULT_CATCH_UP_LATENCY
    """CDC latency (source and target) under which the move enters ``cutover`` - 5 seconds."""
    drain_latency: Duration = DEFAULT_DRAIN_LATENCY
    """CDC latency under which, after the cache TTL, cutover is complete - 0 seconds (none)."""
    cache_ttl: Duration = DIRECTORY_CACHE_TTL
    """How long readers may keep routing by a cached directory item - 30 seconds (the library's)."""
    full_load_timeout: Duration = DEFAULT_FULL_LOAD_TIMEOUT
    """Longest ``copying`` phase before a rollback - 12 hours."""
    catch_up_timeout: Duration = DEFAULT_CATCH_UP_TIMEOUT
    """Longest ``catching_up`` phase before a rollback - 2 hours."""
    cutover_timeout: Duration = DEFAULT_CUTOVER_TIMEOUT
    """Longest ``cutover`` phase (writes refused!) before a rollback - 10 minutes."""
    verify_timeout: Duration = DEFAULT_VERIFY_TIMEOUT
    """Longest ``verifying`` phase before a rollback - 1 hour."""
    keep_source_for: Duration = DEFAULT_KEEP_SOURCE_FOR
    """How long the source copy is kept after the flip (``previous.cleanup_after``) - 7 days."""
    encryption_key: kms.IKey | None = None
    """Key of the execution log group - a new key with rotation by default."""


class TenantMoveStateMachine(Construct):
    """A standard Step Functions state machine (JSONata, AWS SDK integrations only) that moves one
    tenant between two tenant databases with a DMS Serverless replication, any direction.

    Input: ``{"tenant_id", "move_id", "source_database_id", "target_database_id", "source_tier",
    "target_tier", "replication_config_arn"}``, optionally ``"start_replication_type"``
    (``start-replication`` by default; ``reload-target`` for a retry) and ``"action": "rollback"`` (roll
    back the move ``move_id`` from whatever state it is in, then stop its replication).

    Path: read the tenant (consistent) -> ``copying`` -> StartReplication -> poll DescribeReplications
    until the full load is done -> ``catching_up`` -> poll CloudWatch ``CDCLatencySource`` /
    ``CDCLatencyTarget`` until under ``catch_up_latency`` -> ``cutover`` -> wait ``cache_ttl`` -> poll
    until the latency after that is at most ``drain_latency`` -> ``verifying`` -> poll
    DescribeReplicationTableStatistics until every table is validated with no failed, suspended or
    pending record -> flip -> StopReplication. Any error, failed replication, bad validation or phase
    timeout before the flip -> rollback write -> StopReplication -> fail.

    Logging (ALL, execution data) to a KMS-encrypted log group, X-Ray tracing. The role may read and
    conditionally update ``tenant#`` items of the directory only, call ``dms:DescribeReplications`` and
    ``cloudwatch:GetMetricData`` (neither has resource-level permissions); Start/Stop/table statistics
    are granted per replication (:meth:`TenantReplication.grant_run`), from the stack defining it.

    Exposes ``state_machine``, ``role``, ``log_group``, ``encryption_key``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: TenantMoveStateMachineProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        _validate(label, props)
        super().__init__(scope, construct_id)
        self._props = props
        table = props.directory.table.table

        if props.encryption_key is None:
            key = create_key(
                self, "Key", description="Tenant move executions: log group", profile=props.profile
            )
            allow_cloudwatch_logs(key)
            self.encryption_key: kms.IKey = key
        else:
            self.encryption_key = props.encryption_key
        self.log_group: logs.LogGroup = create_log_group(
            self, "Logs", profile=props.profile, encryption_key=self.encryption_key
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Tenant move state machine: directory conditional writes, DMS replication control",
        )
        table_key = props.directory.table.encryption_key
        key_statements = (
            [
                # The directory's customer-managed key (named actions, as DynamoTable.grant).
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    resources=[table_key.key_arn],
                )
            ]
            if table_key is not None
            else []
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                *key_statements,
                iam.PolicyStatement(
                    actions=list(DIRECTORY_ACTIONS),
                    resources=[table.table_arn],
                    conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["tenant#*"]}},
                ),
                iam.PolicyStatement(actions=["dms:DescribeReplications"], resources=["*"]),
                iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"]),
                # What Step Functions needs to deliver execution logs (no resource-level permissions).
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogDelivery",
                        "logs:GetLogDelivery",
                        "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery",
                        "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies",
                        "logs:DescribeLogGroups",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    actions=[
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                    ],
                    resources=["*"],
                ),
            ],
        )
        for finding, reason in (
            (
                "AwsSolutions-IAM5[Resource::*]",
                "dms:DescribeReplications (filters, no ARN), cloudwatch:GetMetricData, the Step Functions "
                "log-delivery actions and the X-Ray segment actions support no resource-level permissions; "
                "the directory and the replications are scoped by ARN.",
            ),
        ):
            acknowledge(policy, finding, reason)

        self._table_name = table.table_name
        self.state_machine = sfn.StateMachine(
            self,
            "Resource",
            query_language=sfn.QueryLanguage.JSONATA,
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            role=self.role.without_policy_updates(),
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
            comment="Move a tenant between tiers with DMS (dbpatterns use case 3)",
        )
        # Step Functions checks the log delivery permissions when the state machine is created.
        self.state_machine.node.add_dependency(policy)
        self.policy = policy

    # -- definition ---------------------------------------------------------------------------

    def _definition(self) -> sfn.IChainable:
        p = self._props
        begin = sfn.Pass.jsonata(
            self,
            "Begin",
            assign={
                "tenant": "{% $states.input.tenant_id %}",
                "moveId": "{% $states.input.move_id %}",
                "source": "{% $states.input.source_database_id %}",
                "target": "{% $states.input.target_database_id %}",
                "sourceTier": "{% $states.input.source_tier %}",
                "targetTier": "{% $states.input.target_tier %}",
                "configArn": "{% $states.input.replication_config_arn %}",
                "startType": (
                    "{% $exists($states.input.start_replication_type) ? "
                    "$states.input.start_replication_type : 'start-replication' %}"
                ),
                "action": "{% $exists($states.input.action) ? $states.input.action : 'move' %}",
            },
        )
        invalid = sfn.Fail.jsonata(
            self, "InvalidInput", error="InvalidInput", cause="tenant_id, move_id, database ids, tiers, ARN"
        )
        check_input = sfn.Choice.jsonata(self, "InputIsValid")
        read = self._call(
            "ReadTenant",
            "dynamodb",
            "getItem",
            {"TableName": self._table_name, "Key": self._key(), "ConsistentRead": True},
            assign={"item": "{% $states.result.Item %}"},
            retry=True,
        )
        not_movable = sfn.Fail.jsonata(
            self,
            "TenantNotMovable",
            error="TenantNotMovable",
            cause="The tenant is not active on the source database and tier, or a move (or an earlier move "
            "awaiting cleanup) is recorded",
        )
        nothing_to_roll_back = sfn.Fail.jsonata(
            self,
            "NothingToRollBack",
            error="NothingToRollBack",
            cause="No move with this move_id in progress",
        )
        rolled_back = sfn.Fail.jsonata(
            self, "MoveRolledBack", error="MoveRolledBack", cause="{% $string($error) %}"
        )
        rollback_refused = sfn.Fail.jsonata(
            self,
            "RollbackRefused",
            error="RollbackRefused",
            cause="The directory item changed under the move: inspect it before acting",
        )

        # Rollback: one conditional write, then stop the replication (which may not be running).
        stop_after_rollback = self._call(
            "StopAfterRollback",
            "databasemigration",
            "stopReplication",
            {"ReplicationConfigArn": "{% $configArn %}"},
        )
        stop_after_rollback.add_catch(rolled_back, errors=["States.ALL"])
        stop_after_refusal = self._call(
            "StopAfterRefusedRollback",
            "databasemigration",
            "stopReplication",
            {"ReplicationConfigArn": "{% $configArn %}"},
        )
        stop_after_refusal.add_catch(rollback_refused, errors=["States.ALL"])
        rollback = self._update(
            "Rollback",
            "SET #status = :active, #version = :next REMOVE #move",
            "#status = :current AND #version = :v AND #move.move_id = :move_id",
            {
                ":active": {"S": ACTIVE},
                ":current": {"S": "{% $status %}"},
                ":move_id": {"S": "{% $moveId %}"},
            },
            names={"#move": "move"},
        )
        rollback.add_catch(stop_after_refusal, errors=["States.ALL"])
        rollback.next(stop_after_rollback)
        stop_after_rollback.next(rolled_back)
        stop_after_refusal.next(rollback_refused)

        def on_error(state: sfn.TaskStateBase) -> None:
            state.add_catch(rollback, errors=["States.ALL"], assign={"error": "{% $states.errorOutput %}"})

        def timed_out(seconds: int) -> sfn.Condition:
            return sfn.Condition.jsonata(f"{{% ($millis() - $phaseStartedAt) > {seconds * _MS} %}}")

        timeout_error = {"error": "{% {'Error': 'PhaseTimeout', 'Cause': $status} %}"}

        # copying
        mark_copying = self._update(
            "MarkCopying",
            "SET #status = :next_status, #version = :next, #move = :move",
            # No move recorded, and no earlier move awaiting cleanup: the flip would overwrite its
            # `previous`, the only record of the old copy still to delete.
            "#status = :expected AND #version = :v AND attribute_not_exists(#move) "
            "AND attribute_not_exists(#previous)",
            {
                ":expected": {"S": ACTIVE},
                ":next_status": {"S": COPYING},
                ":move": {
                    "M": {
                        "move_id": {"S": "{% $moveId %}"},
                        "source_database_id": {"S": "{% $source %}"},
                        "target_database_id": {"S": "{% $target %}"},
                        "source_tier": {"S": "{% $sourceTier %}"},
                        "target_tier": {"S": "{% $targetTier %}"},
                        "started_at": {"S": "{% $now() %}"},
                    }
                },
            },
            names={"#move": "move", "#previous": "previous"},
            next_status=COPYING,
        )
        mark_copying.add_catch(not_movable, errors=["States.ALL"])
        start = self._call(
            "StartReplication",
            "databasemigration",
            "startReplication",
            {"ReplicationConfigArn": "{% $configArn %}", "StartReplicationType": "{% $startType %}"},
        )
        on_error(start)
        wait_full_load = sfn.Wait.jsonata(
            self, "WaitForFullLoad", time=sfn.WaitTime.duration(p.poll_interval)
        )
        describe_full_load = self._describe_replication("DescribeFullLoad")
        on_error(describe_full_load)
        full_load_done = sfn.Choice.jsonata(self, "FullLoadDone")

        # catching_up
        mark_catching_up = self._transition("MarkCatchingUp", COPYING, CATCHING_UP)
        on_error(mark_catching_up)
        wait_catch_up = sfn.Wait.jsonata(self, "WaitForCatchUp", time=sfn.WaitTime.duration(p.poll_interval))
        describe_catch_up = self._describe_replication("DescribeCatchUp")
        on_error(describe_catch_up)
        catch_up_latency = self._latency("ReadCatchUpLatency", "{% $fromMillis($millis() - 300000) %}")
        on_error(catch_up_latency)
        caught_up = sfn.Choice.jsonata(self, "CaughtUp")

        # cutover
        mark_cutover = self._transition("MarkCutover", CATCHING_UP, CUTOVER, assign_cutover=True)
        on_error(mark_cutover)
        wait_ttl = sfn.Wait.jsonata(self, "WaitForDirectoryCache", time=sfn.WaitTime.duration(p.cache_ttl))
        wait_drain = sfn.Wait.jsonata(self, "WaitForDrain", time=sfn.WaitTime.duration(p.poll_interval))
        drain_latency = self._latency(
            "ReadDrainLatency", f"{{% $fromMillis($cutoverAt + {p.cache_ttl.to_seconds() * _MS}) %}}"
        )
        on_error(drain_latency)
        drained = sfn.Choice.jsonata(self, "Drained")

        # verifying
        mark_verifying = self._transition("MarkVerifying", CUTOVER, VERIFYING)
        on_error(mark_verifying)
        wait_verify = sfn.Wait.jsonata(self, "WaitForValidation", time=sfn.WaitTime.duration(p.poll_interval))
        statistics = self._call(
            "DescribeTableStatistics",
            "databasemigration",
            "describeReplicationTableStatistics",
            {"ReplicationConfigArn": "{% $configArn %}"},
            assign={"tables": "{% [$states.result.ReplicationTableStatistics] %}"},
            retry=True,
        )
        on_error(statistics)
        validated = sfn.Choice.jsonata(self, "Validated")

        # flip, then stop
        flip = self._update(
            "Flip",
            "SET database_id = :target, tier = :target_tier, #status = :active, #version = :next, "
            "previous = :previous REMOVE #move",
            "#status = :expected AND #version = :v",
            {
                ":expected": {"S": VERIFYING},
                ":active": {"S": ACTIVE},
                ":target": {"S": "{% $target %}"},
                ":target_tier": {"S": "{% $targetTier %}"},
                ":previous": {
                    "M": {
                        "database_id": {"S": "{% $source %}"},
                        "tier": {"S": "{% $sourceTier %}"},
                        "move_id": {"S": "{% $moveId %}"},
                        "cleanup_after": {
                            "S": f"{{% $fromMillis($millis() + {p.keep_source_for.to_seconds() * _MS}) %}}"
                        },
                    }
                },
            },
            names={"#move": "move"},
            next_status=ACTIVE,
        )
        on_error(flip)
        stop = self._call(
            "StopReplication",
            "databasemigration",
            "stopReplication",
            {"ReplicationConfigArn": "{% $configArn %}"},
        )
        stop.add_retry(errors=["States.ALL"], max_attempts=5, interval=Duration.seconds(10), backoff_rate=2)
        stop_failed = sfn.Fail.jsonata(
            self,
            "FlippedButReplicationRunning",
            error="ReplicationNotStopped",
            cause="The tenant is on the target; stop the replication by hand (aws dms stop-replication)",
        )
        stop.add_catch(stop_failed, errors=["States.ALL"])
        done = sfn.Succeed.jsonata(
            self, "Moved", outputs={"tenant_id": "{% $tenant %}", "database_id": "{% $target %}"}
        )

        # rollback on request
        rollback_requested = sfn.Choice.jsonata(self, "RollbackInProgressMove")
        roll_back_now = sfn.Pass.jsonata(
            self,
            "PrepareRollback",
            assign={
                "status": "{% $item.status.S %}",
                "version": "{% $number($item.version.N) %}",
                "error": "{% {'Error': 'RollbackRequested', 'Cause': $moveId} %}",
            },
        )
        roll_back_now.next(rollback)

        # wiring
        slug = "/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/"
        check_input.when(
            sfn.Condition.jsonata(
                "{% $type($tenant) = 'string' and $contains($tenant, "
                + slug
                + ") and $type($moveId) = 'string' and $length($moveId) > 0 "
                "and $type($source) = 'string' and $type($target) = 'string' and $source != $target "
                "and $sourceTier in ['pooled', 'standard', 'enterprise'] "
                "and $targetTier in ['pooled', 'standard', 'enterprise'] "
                "and $type($configArn) = 'string' and $contains($configArn, ':replication-config:') "
                "and $action in ['move', 'rollback'] %}"
            ),
            read,
        ).otherwise(invalid)
        movable = sfn.Condition.jsonata(
            "{% $exists($item) and $item.status.S = '"
            + ACTIVE
            + "' and $item.database_id.S = $source and $item.tier.S = $sourceTier "
            "and $exists($item.version.N) and $not($exists($item.move)) "
            "and $not($exists($item.previous)) %}"
        )
        after_read = sfn.Choice.jsonata(self, "MoveOrRollback")
        after_read.when(sfn.Condition.jsonata("{% $action = 'rollback' %}"), rollback_requested)
        after_read.when(
            movable,
            sfn.Pass.jsonata(
                self,
                "RememberVersion",
                assign={"version": "{% $number($item.version.N) %}", "status": ACTIVE},
            ).next(mark_copying),
        )
        after_read.otherwise(not_movable)
        read.next(after_read)
        rollback_requested.when(
            sfn.Condition.jsonata(
                "{% $exists($item.move) and $item.move.M.move_id.S = $moveId and $item.status.S in "
                + json.dumps(list(ROLLBACK_FROM))
                + " %}"
            ),
            roll_back_now,
        ).otherwise(nothing_to_roll_back)

        failed_statuses = json.dumps(list(FAILED_REPLICATION_STATUSES))
        replication_failed = sfn.Condition.jsonata(
            "{% $lowercase($replication.Status) in " + failed_statuses + " %}"
        )
        to_rollback_failed = sfn.Pass.jsonata(
            self,
            "ReplicationFailed",
            assign={"error": "{% {'Error': 'ReplicationFailed', 'Cause': $string($replication)} %}"},
        ).next(rollback)
        to_rollback_timeout = sfn.Pass.jsonata(self, "PhaseTimedOut", assign=timeout_error).next(rollback)
        to_rollback_validation = sfn.Pass.jsonata(
            self,
            "ValidationFailed",
            assign={"error": "{% {'Error': 'ValidationFailed', 'Cause': $string($tables)} %}"},
        ).next(rollback)

        mark_copying.next(start)
        start.next(wait_full_load)
        wait_full_load.next(describe_full_load)
        describe_full_load.next(full_load_done)
        full_load_done.when(replication_failed, to_rollback_failed)
        full_load_done.when(
            sfn.Condition.jsonata(
                "{% $exists($replication.ReplicationStats.FullLoadFinishDate) "
                "and $replication.ReplicationStats.TablesErrored = 0 "
                "and $replication.ReplicationStats.TablesLoading = 0 "
                "and $replication.ReplicationStats.TablesQueued = 0 %}"
            ),
            mark_catching_up,
        )
        full_load_done.when(timed_out(_seconds(p.full_load_timeout)), to_rollback_timeout)
        full_load_done.otherwise(wait_full_load)

        mark_catching_up.next(wait_catch_up)
        wait_catch_up.next(describe_catch_up)
        describe_catch_up.next(catch_up_latency)
        catch_up_latency.next(caught_up)
        caught_up.when(replication_failed, to_rollback_failed)
        caught_up.when(self._latency_under(p.catch_up_latency), mark_cutover)
        caught_up.when(timed_out(_seconds(p.catch_up_timeout)), to_rollback_timeout)
        caught_up.otherwise(wait_catch_up)

        mark_cutover.next(wait_ttl)
        wait_ttl.next(wait_drain)
        wait_drain.next(drain_latency)
        drain_latency.next(drained)
        drained.when(self._latency_under(p.drain_latency), mark_verifying)
        drained.when(timed_out(_seconds(p.cutover_timeout)), to_rollback_timeout)
        drained.otherwise(wait_drain)

        table_count = len(TENANT_TABLES)
        bad_states = json.dumps(list(BAD_VALIDATION_STATES))
        mark_verifying.next(wait_verify)
        wait_verify.next(statistics)
        statistics.next(validated)
        validated.when(
            sfn.Condition.jsonata(
                "{% $count($tables[ValidationFailedRecords > 0 or ValidationSuspendedRecords > 0 "
                "or ValidationState in " + bad_states + " or TableState = 'Table error']) > 0 %}"
            ),
            to_rollback_validation,
        )
        validated.when(
            sfn.Condition.jsonata(
                f"{{% $count($tables) = {table_count} and $count($tables[ValidationState = 'Validated' "
                f"and ValidationPendingRecords = 0]) = {table_count} %}}"
            ),
            flip,
        )
        validated.when(timed_out(_seconds(p.verify_timeout)), to_rollback_timeout)
        validated.otherwise(wait_verify)

        flip.next(stop)
        stop.next(done)

        return begin.next(check_input)

    # -- building blocks ----------------------------------------------------------------------

    def _key(self) -> dict[str, Any]:
        return {"pk": {"S": "{% 'tenant#' & $tenant %}"}}

    def _call(
        self,
        state_id: str,
        service: str,
        action: str,
        parameters: dict[str, Any],
        *,
        assign: dict[str, Any] | None = None,
        retry: bool = False,
    ) -> tasks.CallAwsService:
        """An SDK-integration task; IAM is the construct's own policy (the role ignores task grants)."""
        resources = self._iam_resources(service)
        task = tasks.CallAwsService.jsonata(
            self,
            state_id,
            service=service,
            action=action,
            parameters=parameters,
            iam_resources=resources,
            assign=assign,
        )
        if retry:
            task.add_retry(
                errors=["States.ALL"], max_attempts=3, interval=Duration.seconds(5), backoff_rate=2
            )
        return task

    def _iam_resources(self, service: str) -> list[str]:
        stack = Stack.of(self)
        if service == "dynamodb":
            return [self._props.directory.table.table.table_arn]
        if service == "databasemigration":
            return [
                stack.format_arn(
                    service="dms",
                    resource="replication-config",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ]
        return ["*"]

    def _update(
        self,
        state_id: str,
        update: str,
        condition: str,
        values: dict[str, Any],
        *,
        names: dict[str, str] | None = None,
        next_status: str | None = None,
        assign_cutover: bool = False,
    ) -> tasks.CallAwsService:
        """One conditional UpdateItem on the tenant item; on success the new version and status (and
        the phase's start time) are remembered."""
        assign: dict[str, Any] = {"version": "{% $version + 1 %}", "phaseStartedAt": "{% $millis() %}"}
        if next_status is not None:
            assign["status"] = next_status
        if assign_cutover:
            assign["cutoverAt"] = "{% $millis() %}"
        task = self._call(
            state_id,
            "dynamodb",
            "updateItem",
            {
                "TableName": self._table_name,
                "Key": self._key(),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status", "#version": "version", **(names or {})},
                "ExpressionAttributeValues": {
                    ":v": {"N": "{% $string($version) %}"},
                    ":next": {"N": "{% $string($version + 1) %}"},
                    **values,
                },
            },
            assign=assign,
        )
        task.add_retry(errors=list(_THROTTLED), max_attempts=3, interval=Duration.seconds(1), backoff_rate=2)
        return task

    def _transition(
        self, state_id: str, expected: str, next_status: str, *, assign_cutover: bool = False
    ) -> tasks.CallAwsService:
        return self._update(
            state_id,
            "SET #status = :next_status, #version = :next",
            "#status = :expected AND #version = :v",
            {":expected": {"S": expected}, ":next_status": {"S": next_status}},
            next_status=next_status,
            assign_cutover=assign_cutover,
        )

    def _describe_replication(self, state_id: str) -> tasks.CallAwsService:
        return self._call(
            state_id,
            "databasemigration",
            "describeReplications",
            {"Filters": [{"Name": "replication-config-arn", "Values": ["{% $configArn %}"]}]},
            assign={"replication": "{% $states.result.Replications[0] %}"},
            retry=True,
        )

    def _latency(self, state_id: str, start_time: str) -> tasks.CallAwsService:
        """The newest one-minute maximum of ``CDCLatencySource`` and ``CDCLatencyTarget`` since
        ``start_time``, found by a metrics search on the replication's resource identifier (so it
        does not depend on the dimension's name)."""
        queries = []
        for query_id, metric in (("source", "CDCLatencySource"), ("target", "CDCLatencyTarget")):
            expression = (
                '{% "MAX(SEARCH(\'{AWS/DMS} MetricName=" & \'"'
                + metric
                + "\" \"' & $split($configArn, ':')[-1] & '\"' & \"', 'Maximum', 60))\" %}"
            )
            queries.append({"Id": query_id, "Expression": expression, "Period": 60})
        return self._call(
            state_id,
            "cloudwatch",
            "getMetricData",
            {
                "MetricDataQueries": queries,
                "StartTime": start_time,
                "EndTime": "{% $now() %}",
                "ScanBy": "TimestampDescending",
            },
            assign={"latest": "{% [$states.result.MetricDataResults[$count(Values) > 0].Values[0]] %}"},
            retry=True,
        )

    def _latency_under(self, threshold: Duration) -> sfn.Condition:
        seconds = threshold.to_seconds()
        return sfn.Condition.jsonata(f"{{% $count($latest) = 2 and $max($latest) <= {seconds} %}}")

    # -- grants ---------------------------------------------------------------------------------

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start executions (moves and rollbacks); IAM only."""
        return self.state_machine.grant_start_execution(grantee)


def _seconds(value: Duration) -> int:
    return int(value.to_seconds())


#: (prop, whole unit, minimum, maximum) of every duration prop.
_DURATION_LIMITS: tuple[tuple[str, Unit, Duration | None, Duration], ...] = (
    ("poll_interval", "seconds", Duration.seconds(10), Duration.minutes(5)),
    ("catch_up_latency", "seconds", None, Duration.minutes(10)),
    ("drain_latency", "seconds", None, Duration.minutes(1)),
    ("cache_ttl", "seconds", Duration.seconds(1), Duration.minutes(15)),
    ("full_load_timeout", "minutes", Duration.minutes(5), Duration.days(7)),
    ("catch_up_timeout", "minutes", Duration.minutes(5), Duration.days(2)),
    ("cutover_timeout", "minutes", Duration.minutes(2), Duration.hours(1)),
    ("verify_timeout", "minutes", Duration.minutes(5), Duration.days(2)),
    ("keep_source_for", "days", Duration.days(1), Duration.days(90)),
)


def _validate(label: str, props: TenantMoveStateMachineProps) -> None:
    check_instance(label, "directory", props.directory, TenantDirectoryTable)
    check_instance(label, "profile", props.profile, DeploymentProfile)
    check_key(label, props.encryption_key)
    for prop, unit, minimum, maximum in _DURATION_LIMITS:
        check_duration(label, prop, getattr(props, prop), unit=unit, minimum=minimum, maximum=maximum)
    if props.cutover_timeout.to_seconds() <= props.cache_ttl.to_seconds():
        raise PropValidationError(
            label,
            "cutover_timeout",
            f"{props.cutover_timeout.to_minutes()} minutes",
            f"allowed: longer than cache_ttl ({props.cache_ttl.to_seconds()} s): cutover waits for it",
        )
