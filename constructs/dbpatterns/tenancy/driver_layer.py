"""The Lambda layer with pg8000, the pure-Python PostgreSQL driver the tenancy functions use.

The one place the tenancy constructs build a dependency layer. It calls
``dbpatterns.common.dependencies.pure_python_layer`` as main has it today; when that helper changes
(issue 8: copy from the installed distribution instead of installing at synth), only this module
follows.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dbpatterns.common.dependencies import pure_python_layer
from dbpatterns.common.function import DEFAULT_RUNTIME

#: pg8000 and its pure-Python dependencies (boto3/botocore come with the Lambda runtime); the same
#: pins as requirements-dev.txt and the environment the tests ran in.
PG8000_REQUIREMENTS = (
    "pg8000==1.31.6",
    "scramp==1.5.0",
    "asn1crypto==1.5.1",
    "python-dateutil==2.9.0.post0",
    "six==1.17.0",
)


def pg8000_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    """A layer with :data:`PG8000_REQUIREMENTS` for the default (newest) Python runtime."""
    return pure_python_layer(
        scope,
        construct_id,
        requirements=PG8000_REQUIREMENTS,
        description="pg8000 (pure-Python PostgreSQL driver) and its dependencies",
        compatible_runtimes=[DEFAULT_RUNTIME],
    )
