"""The auth catalogue: each credential case against the real gateway, asserting the HTTP status.

Self-signed cases go to `oidc_gateway` (our own keys behind a JWKS server, groups at `realm_access.roles`);
Cognito, API-token and master-key cases go to `gateway` (the emulated platform's Cognito pool).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.fixtures.eventually import eventually
from tests.integration.serve.conftest import JWKS_MIN_REFRESH_S, OIDC_CLIENT, SelfSignedIdp

FOREIGN_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{_b64(signature)}"


def _hs256(claims: dict, secret: bytes, kid: str = "rsa-1") -> str:
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def _public_pem(idp: SelfSignedIdp) -> bytes:
    return idp.rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _tamper_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["realm_access"] = {"roles": ["lisa-admins"]}
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _tamper_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 0x01
    return f"{header}.{payload}.{_b64(bytes(raw))}"


def _status(base: str, headers: dict[str, str]) -> int:
    return requests.get(f"{base}/v2/serve/models", headers=headers, timeout=10).status_code


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# (case, headers built from the test IdP, expected status)
def _jwt_cases(idp: SelfSignedIdp):
    now = int(time.time())
    c = idp.claims
    return [
        ("valid RS256", _bearer(idp.sign()), 200),
        ("valid ES256", _bearer(idp.sign(key=idp.ec, alg="ES256", kid="ec-1")), 200),
        ("valid RS384 on the RSA key", _bearer(idp.sign(alg="RS384")), 200),
        ("audience list naming the client", _bearer(idp.sign(c(aud=["other", OIDC_CLIENT]))), 200),
        ("access token: no aud, client_id matches", _bearer(idp.sign(c(aud=None, client_id=OIDC_CLIENT, token_use="access"))), 200),
        ("expired within the clock leeway", _bearer(idp.sign(c(exp=now - 3))), 200),
        ("group claim missing", _bearer(idp.sign(c(realm_access=None))), 200),
        ("alg none", _bearer(_unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, c())), 401),
        ("alg none, empty signature, upper case", _bearer(_unsigned({"alg": "NONE", "kid": "rsa-1"}, c())), 401),
        ("HS256 keyed with the public key", _bearer(_hs256(c(), _public_pem(idp))), 401),
        ("HS256 keyed with a guessable secret", _bearer(_hs256(c(), b"secret")), 401),
        ("PS256 (not on the allow-list)", _bearer(idp.sign(alg="PS256")), 401),
        ("wrong issuer", _bearer(idp.sign(c(iss="https://evil.example/realms/lisa"))), 401),
        ("issuer missing", _bearer(idp.sign(c(iss=None))), 401),
        ("wrong audience", _bearer(idp.sign(c(aud="someone-else"))), 401),
        ("no aud and a foreign client_id", _bearer(idp.sign(c(aud=None, client_id="other", token_use="access"))), 401),
        ("no aud, our client_id, but an id token", _bearer(idp.sign(c(aud=None, client_id=OIDC_CLIENT, token_use="id"))), 401),
        ("no aud, no client_id", _bearer(idp.sign(c(aud=None))), 401),
        ("expired", _bearer(idp.sign(c(exp=now - 60))), 401),
        ("exp missing", _bearer(idp.sign(c(exp=None))), 401),
        ("not yet valid (nbf)", _bearer(idp.sign(c(nbf=now + 120))), 401),
        ("issued in the future (iat)", _bearer(idp.sign(c(iat=now + 120))), 401),
        ("subject missing", _bearer(idp.sign(c(sub=None))), 401),
        ("unknown kid", _bearer(idp.sign(kid="rsa-404")), 401),
        ("kid missing with several keys", _bearer(idp.sign(kid=None)), 401),
        ("signed by a foreign key under a known kid", _bearer(idp.sign(key=FOREIGN_RSA)), 401),
        ("RS256 header on the EC key's kid", _bearer(idp.sign(kid="ec-1")), 401),
        ("ES384 on the P-256 key", _bearer(idp.sign(key=ec.generate_private_key(ec.SECP384R1()), alg="ES384", kid="ec-1")), 401),
        ("tampered payload (self-promoted to admin)", _bearer(_tamper_payload(idp.sign())), 401),
        ("tampered signature", _bearer(_tamper_signature(idp.sign())), 401),
        ("group claim a string, not a list", _bearer(idp.sign(c(realm_access={"roles": "lisa-admins"}))), 401),
        ("group claim a list of numbers", _bearer(idp.sign(c(realm_access={"roles": [1, 2]}))), 401),
        ("three dots of garbage", _bearer("aaa.bbb.ccc"), 401),
        ("JWT in the Api-Key header, valid", {"Api-Key": idp.sign()}, 200),
    ]


def _header_cases():
    return [
        ("no credentials", {}, 401),
        ("empty bearer", {"Authorization": "Bearer "}, 401),
        ("bearer with nothing after it", {"Authorization": "Bearer"}, 401),
        ("basic scheme", {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ("empty Api-Key", {"Api-Key": ""}, 401),
        ("unknown API token", _bearer("lisa-not-a-real-token"), 401),
        ("unknown API token in Api-Key", {"Api-Key": "lisa-not-a-real-token"}, 401),
        ("credential longer than 16 KiB", _bearer("x" * 17_000), 401),
    ]


def test_catalogue_has_at_least_30_cases(test_idp):
    assert len(_jwt_cases(test_idp)) + len(_header_cases()) + 12 >= 30


@pytest.mark.parametrize("index", range(34))
def test_self_signed_jwt_case(oidc_gateway, test_idp, index):
    case, headers, expected = _jwt_cases(test_idp)[index]
    assert _status(oidc_gateway, headers) == expected, case


@pytest.mark.parametrize("index", range(8))
def test_header_case(gateway, index):
    case, headers, expected = _header_cases()[index]
    assert _status(gateway, headers) == expected, case


def test_jwt_case_count_matches_the_parametrisation(test_idp):
    assert len(_jwt_cases(test_idp)) == 34 and len(_header_cases()) == 8


def test_refusal_is_an_openai_error_object(gateway):
    response = requests.get(f"{gateway}/v2/serve/models", timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == "invalid_api_key"


def test_rotated_signing_key_is_accepted_after_a_refresh(oidc_gateway, test_idp):
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = test_idp.sign(key=new_key, kid="rsa-rotated")
    assert _status(oidc_gateway, _bearer(token)) == 401  # not published yet
    test_idp.add_key({**jwt.algorithms.RSAAlgorithm.to_jwk(new_key.public_key(), as_dict=True), "kid": "rsa-rotated"})
    eventually(lambda: _status(oidc_gateway, _bearer(token)) == 200, JWKS_MIN_REFRESH_S + 5,
               "the rotated key picked up")


# Cognito (real tokens from the emulator) -----------------------------------------------------------------------------
def test_cognito_id_token_is_accepted(gateway, cognito_tokens):
    assert _status(gateway, _bearer(cognito_tokens["id"])) == 200


def test_cognito_access_token_is_accepted(gateway, cognito_tokens):
    assert _status(gateway, _bearer(cognito_tokens["access"])) == 200


def test_cognito_token_of_another_pool_client_is_refused(gateway, cognito_tokens, platform):
    outputs, admin = platform
    from core import aws

    idp = aws.client("cognito-idp")
    other = idp.create_user_pool_client(UserPoolId=outputs.auth.user_pool_id, ClientName="other",
                                        GenerateSecret=False)["UserPoolClient"]["ClientId"]
    try:
        result = idp.admin_initiate_auth(
            UserPoolId=outputs.auth.user_pool_id, ClientId=other, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": admin.username, "PASSWORD": admin.password})["AuthenticationResult"]
    finally:  # the shared pool keeps one client, as the platform made it
        idp.delete_user_pool_client(UserPoolId=outputs.auth.user_pool_id, ClientId=other)
    assert _status(gateway, _bearer(result["IdToken"])) == 401
    assert _status(gateway, _bearer(result["AccessToken"])) == 401


# API tokens and the master key ---------------------------------------------------------------------------------------
def test_api_token_in_authorization(gateway, user_token):
    assert _status(gateway, _bearer(user_token)) == 200


def test_api_token_in_api_key_header(gateway, user_token):
    assert _status(gateway, {"Api-Key": user_token}) == 200


def test_same_token_in_both_headers(gateway, user_token):
    assert _status(gateway, {**_bearer(user_token), "Api-Key": user_token}) == 200


def test_different_credentials_in_the_two_headers(gateway, user_token, admin_token):
    assert _status(gateway, {**_bearer(user_token), "Api-Key": admin_token}) == 401


def test_expired_api_token(gateway, tokens):
    token, info = tokens.issue(user_id="short-lived", username="short-lived", name="tests",
                               token_expiration=int(time.time()) + 2)
    assert _status(gateway, _bearer(token)) == 200
    eventually(lambda: _status(gateway, _bearer(token)) == 401, 10, "the token refused after its tokenExpiration")


def test_hand_written_expired_token_item(gateway, platform):
    from core.dynamo import Table
    from services.identity.tokens import hash_token

    outputs, _ = platform
    Table(outputs.tables.tokens).put({"tokenHash": hash_token("lisa-handwritten-old"),
                                      "tokenExpiration": int(time.time()) - 60})
    assert _status(gateway, _bearer("lisa-handwritten-old")) == 401


def test_revoked_api_token_stops_working_within_the_cache_ttl(gateway, tokens):
    from services.identity.authenticator import TOKEN_CACHE_TTL_S

    token, info = tokens.issue(user_id="to-revoke", username="to-revoke", name="tests")
    assert _status(gateway, _bearer(token)) == 200
    tokens.revoke(info.token_uuid)
    eventually(lambda: _status(gateway, _bearer(token)) == 401, TOKEN_CACHE_TTL_S + 2, "the revoked token refused")


def test_master_key_is_accepted(gateway, master_key):
    assert _status(gateway, _bearer(master_key)) == 200


def test_master_key_with_one_character_changed_is_refused(gateway, master_key):
    assert _status(gateway, _bearer(master_key[:-1] + ("x" if master_key[-1] != "x" else "y"))) == 401


def test_health_needs_no_credentials(gateway):
    assert requests.get(f"{gateway}/health", timeout=5).status_code == 200
