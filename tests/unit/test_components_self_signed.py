"""The dev stage's self-signed certificate."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from components.self_signed import self_signed_certificate

DNS = "lisa-dev-serve-123.us-east-1.elb.amazonaws.com"


def test_the_certificate_names_the_alb_and_is_for_servers_only():
    cert_pem, _ = self_signed_certificate("LISA lisa-dev serve", [DNS])
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == [DNS]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert cert.issuer == cert.subject


def test_the_key_matches_the_certificate():
    cert_pem, key_pem = self_signed_certificate("x", [DNS])
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert key_pem.startswith("-----BEGIN EC PRIVATE KEY-----")


def test_the_certificate_is_valid_from_now_for_about_a_year():
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    cert = x509.load_pem_x509_certificate(self_signed_certificate("x", [DNS], now=now)[0].encode())
    assert cert.not_valid_before_utc < now < cert.not_valid_after_utc
    assert 390 <= (cert.not_valid_after_utc - now).days <= 397


def test_an_alb_dns_name_is_too_long_for_a_common_name_so_it_goes_in_the_san():
    with pytest.raises(ValueError, match="1-64"):
        self_signed_certificate("x" * 65, [DNS])
    with pytest.raises(ValueError, match="at least one DNS name"):
        self_signed_certificate("x", [])
