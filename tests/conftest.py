"""Suite-wide test settings: fake AWS credentials and quiet Powertools.

No test may reach a real AWS endpoint. These variables are set before any test module
imports boto3, so every client a test creates talks to moto or fails without credentials.
"""

from __future__ import annotations

import os

_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "dbpatterns-tests",
    "POWERTOOLS_METRICS_NAMESPACE": "DbPatternsTests",
    "POWERTOOLS_DEV": "false",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    # aws-cdk-lib's built-in template validation costs seconds per synth; cfn-lint covers it.
    "CDK_VALIDATION": "false",
}
for _key, _value in _TEST_ENV.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)
