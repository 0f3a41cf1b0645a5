"""A self-signed TLS certificate for a dev stage's ALBs (prod needs a real one; the config refuses selfSigned there)."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def self_signed_certificate(
    common_name: str, dns_names: Iterable[str], *, valid_days: int = 397, now: dt.datetime | None = None,
) -> tuple[str, str]:
    """(certificate PEM, private key PEM), ECDSA P-256 (ACM imports it; ALBs serve it)."""
    names = list(dict.fromkeys(dns_names))
    if not names:
        raise ValueError("a certificate needs at least one DNS name")
    if not 1 <= len(common_name) <= 64:
        raise ValueError("the common name must be 1-64 characters")
    key = ec.generate_private_key(ec.SECP256R1())
    start = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(minutes=5)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    # "BEGIN EC PRIVATE KEY": the form ACM's import documents.
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return cert_pem, key_pem
