"""The Lambda layer with pg8000, the pure-Python PostgreSQL driver the tenancy functions use.

Copied from the distributions the library's ``tenancy`` extra installs (``pip install
"dbpatterns[tenancy]"``), verified against these pins by ``dbpatterns.common.layers``: no pip and no
network at synth.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dbpatterns.common.function import DEFAULT_RUNTIME
from dbpatterns.common.layers import PinnedDistribution, VerifiedLayerContent

#: pg8000 and its pure-Python dependencies (boto3/botocore come with the Lambda runtime), pinned by
#: version and by the digest of their files as pip installs them from PyPI.
PG8000_DISTRIBUTIONS = (
    PinnedDistribution(
        name="pg8000",
        version="1.31.6",
        code_sha256="d26c8966d47230034bca4bd97b0ad9c2331ee5fc4b078ba99c75a2f5c36801b3",
    ),
    PinnedDistribution(
        name="scramp",
        version="1.5.0",
        code_sha256="c3da8051ac9033de74b1a2eb6e19096bdff34ffd4a2ed190946120f4e51e1e0d",
    ),
    PinnedDistribution(
        name="asn1crypto",
        version="1.5.1",
        code_sha256="a28be8552f194108deb9761190d161f26f9dd2e26d27e477adb8d7701fca84d2",
    ),
    PinnedDistribution(
        name="python-dateutil",
        version="2.9.0.post0",
        code_sha256="852147b34af9190d1de16a64c99ece6eebbf57a34849ba90181c3896d36ddf2f",
    ),
    PinnedDistribution(
        name="six",
        version="1.17.0",
        code_sha256="6c01669461ea20344bfcf5730d4f36b6f7eb383069978bced32d0e9ebbb2a24b",
    ),
)
#: The library extra that installs :data:`PG8000_DISTRIBUTIONS`.
PG8000_EXTRA = "tenancy"


def pg8000_layer_content(construct: str, given: lambda_.ILayerVersion | None) -> VerifiedLayerContent | None:
    """The verified files when the construct builds its own layer (``given`` is None), else None.

    Raises ``DependencyError`` naming the extra; call it while validating, before any child exists.
    """
    if given is not None:
        return None
    return VerifiedLayerContent.of(PG8000_DISTRIBUTIONS, construct=construct, extra=PG8000_EXTRA)


def pg8000_layer(
    scope: Construct,
    construct_id: str,
    given: lambda_.ILayerVersion | None = None,
    content: VerifiedLayerContent | None = None,
) -> lambda_.ILayerVersion:
    """``given``, or a new layer with :data:`PG8000_DISTRIBUTIONS` for the newest Python runtime.

    A construct passes the ``content`` it verified before defining children; called on its own (from a
    stack), the distributions are verified here.
    """
    if given is not None:
        return given
    if content is None:
        content = VerifiedLayerContent.of(
            PG8000_DISTRIBUTIONS,
            construct=f"pg8000 layer {scope.node.path}/{construct_id}",
            extra=PG8000_EXTRA,
        )
    return content.layer(
        scope,
        construct_id,
        description="pg8000 (pure-Python PostgreSQL driver) and its dependencies",
        compatible_runtimes=[DEFAULT_RUNTIME],
    )
