"""The vendored RDS CA bundle: the recorded digest, parseable certificates, the CAs our instances use
in every target region, and its place in the handler asset."""

from __future__ import annotations

import hashlib
import re

from cryptography import x509

from dbpatterns.common.function import handler_files
from dbpatterns.tenancy.ca_bundle import BUNDLE_PATH, LAMBDA_BUNDLE_PATH, RELATIVE_PATH, SHA256

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")


def _certificates() -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(BUNDLE_PATH.read_bytes())


def test_bundle_is_the_recorded_file() -> None:
    assert hashlib.sha256(BUNDLE_PATH.read_bytes()).hexdigest() == SHA256


def test_bundle_holds_the_rsa2048_g1_root_of_every_target_region() -> None:
    names = {c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value for c in _certificates()}
    for region in REGIONS:
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names, region
    assert all(re.match(r"^Amazon RDS ", str(n)) for n in names)


def test_bundle_ships_in_the_handler_asset_where_the_functions_look() -> None:
    staged = dict(handler_files().files)
    assert staged[RELATIVE_PATH].read_bytes() == BUNDLE_PATH.read_bytes()
    assert f"/var/task/{RELATIVE_PATH}" == LAMBDA_BUNDLE_PATH
