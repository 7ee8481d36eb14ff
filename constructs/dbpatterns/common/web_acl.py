"""A regional WAFv2 web ACL for an API Gateway stage, with its request log."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from dbpatterns.common.logs import create_log_group
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_range, require

#: WAF's bounds for a rate-based rule (requests per evaluation window per IP).
MIN_RATE_LIMIT, MAX_RATE_LIMIT = 10, 2_000_000_000
_API_NAME = re.compile(r"^[a-z0-9-]{1,64}$")
#: AWS managed rule groups: common web exploits and request patterns known to be malicious.
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")


@dataclass(frozen=True, kw_only=True)
class ApiWebAclProps:
    """Props of :class:`ApiWebAcl`."""

    #: The stage to protect.
    stage: apigw.Stage
    #: Short name of the API for the WAF log group ``aws-waf-logs-<stack>-<api_name>``, e.g. ``orders-api``.
    api_name: str
    #: Sandbox or production: log retention and removal follow it.
    profile: DeploymentProfile
    #: Requests one IP may send in 5 minutes before WAF blocks it (10-2e9) - 1,000 by default.
    rate_limit_per_ip: int = 1_000
    #: Key for the WAF log group - the stack's shared logs key (``common.logs.stack_logs_key``) by default.
    log_encryption_key: kms.IKey | None = None


class ApiWebAcl(Construct):
    """WAFv2 web ACL (AWS managed common and known-bad-inputs rules, a per-IP rate limit) associated
    with ``stage``, logging every request to a CloudWatch log group ``aws-waf-logs-<stack>-<api_name>``
    (WAF requires the ``aws-waf-logs-`` prefix).

    Exposes ``web_acl``, ``association`` and ``log_group``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ApiWebAclProps) -> None:
        check_range(
            type(self).__name__,
            "rate_limit_per_ip",
            props.rate_limit_per_ip,
            minimum=MIN_RATE_LIMIT,
            maximum=MAX_RATE_LIMIT,
        )
        require(
            _API_NAME.match(props.api_name) is not None,
            type(self).__name__,
            "api_name",
            props.api_name,
            "allowed: 1-64 characters of a-z, 0-9 and '-' (it ends the WAF log group's name)",
        )
        super().__init__(scope, construct_id)

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=len(rules),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=props.rate_limit_per_ip
                    )
                ),
                visibility_config=_visibility("RateLimitPerIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "Resource",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            description="Protects the ledger command API",
            rules=rules,
            visibility_config=_visibility("LedgerApi"),
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=props.stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )

        log_group_name = f"aws-waf-logs-{Aws.STACK_NAME}-{props.api_name}"
        self.log_group = create_log_group(
            self,
            "Logs",
            profile=props.profile,
            log_group_name=log_group_name,
            encryption_key=props.log_encryption_key,
        )
        # WAF wants the log group ARN without the ":*" suffix that LogGroup.log_group_arn carries.
        log_group_arn = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        logging = wafv2.CfnLoggingConfiguration(
            self, "Logging", resource_arn=self.web_acl.attr_arn, log_destination_configs=[log_group_arn]
        )
        logging.node.add_dependency(self.log_group)


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )
