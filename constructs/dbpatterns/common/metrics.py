"""Passing ``cloudwatch.MetricOptions`` through to an L2's own ``metric_*`` method.

The constructs here expose ``metric_*`` methods named for the official CloudWatch metric that take
one optional ``MetricOptions`` (period, statistic, label, ...) like aws-cdk's ``props`` argument, and
delegate to the L2 they wrap. jsii's Python methods take those options as keyword arguments, so this
turns the struct back into keywords.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch

#: The fields of ``MetricOptions`` (jsii structs expose them as properties).
_OPTION_NAMES = tuple(
    name
    for name in dir(cloudwatch.MetricOptions)
    if not name.startswith("_") and isinstance(getattr(cloudwatch.MetricOptions, name), property)
)


def metric_kwargs(options: cloudwatch.MetricOptions | None, **defaults: Any) -> dict[str, Any]:
    """The options that are set, as keyword arguments for an L2 ``metric_*`` method, over ``defaults``
    (e.g. ``statistic="Maximum"`` where the metric's useful statistic is not the L2's)."""
    kwargs = dict(defaults)
    if options is not None:
        values = {name: getattr(options, name) for name in _OPTION_NAMES}
        kwargs.update({name: value for name, value in values.items() if value is not None})
    return kwargs
