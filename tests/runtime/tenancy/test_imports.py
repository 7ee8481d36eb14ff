"""Import boundaries: the catalog modules load with the standard library alone (the CDK app reads
the catalog at synth time without a database driver), and neither the runtime nor the
custom-resource handlers import aws_cdk."""

from __future__ import annotations

import subprocess
import sys

_CHECK = """
import sys
from dbpatterns.runtime.tenancy import catalog, catalog_cli, fleet, ids, quotas, schema, shards
heavy = {'aws_cdk', 'constructs', 'boto3', 'botocore', 'pg8000', 'psycopg'}
catalog_side = sorted({name.split('.')[0] for name in sys.modules} & heavy)
from dbpatterns.runtime.tenancy import access, auth, connection, directory, migrate
from dbpatterns.runtime.tenancy.move import capture, cli, engine, rowcopy, tables, verify
from dbpatterns.handlers.tenancy import api, directory_resource, projects, schema_resource
print(catalog_side, 'aws_cdk' in sys.modules, 'constructs' in sys.modules)
"""


def test_catalog_modules_need_only_the_standard_library_and_nothing_imports_the_cdk() -> None:
    completed = subprocess.run(  # noqa: S603 - fixed argv: this interpreter and the script above
        [sys.executable, "-c", _CHECK], capture_output=True, text=True, check=True, timeout=60
    )

    assert completed.stdout.strip() == "[] False False"
