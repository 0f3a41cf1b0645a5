"""The pure parts of services/identity and the JWT verifier over an in-memory key set (no server)."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.errors import AuthenticationError
from core.platform import AuthOutputs
from services.identity.claims import check_audience, groups_at, principal_from_claims
from services.identity.credentials import credential_from, looks_like_jwt
from services.identity.expiring_cache import ExpiringCache
from services.identity.jwks import JwksCache, JwtVerifier, signing_keys
from services.identity.tokens import TokenInfo, hash_token, info_from_item, new_token, token_item

ISSUER = "https://idp.example/realms/lisa"
AUTH = AuthOutputs(authority=ISSUER, client_id="web", admin_group="admins", jwt_groups_property="realm_access.roles",
                   jwks_url="memory://jwks")
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(private_key, kid: str, **extra) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, **extra}


def _jwks(*keys: dict) -> dict:
    return {"keys": list(keys)}


def _token(claims: dict | None = None, *, key=RSA_KEY, alg: str = "RS256", kid: str | None = "k1", **overrides) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "web", "sub": "u-1", "exp": now + 300, "iat": now, "username": "alice",
            "realm_access": {"roles": ["admins"]}}
    body.update(claims or {})
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else {})


def _verifier(jwks: dict | None = None, *, calls: list | None = None) -> JwtVerifier:
    def fetch(url: str) -> dict:
        if calls is not None:
            calls.append(url)
        return jwks if jwks is not None else _jwks(_jwk(RSA_KEY, "k1"), _jwk(EC_KEY, "e1"))

    return JwtVerifier(AUTH, JwksCache(AUTH.resolved_jwks_url, min_refresh_s=60, fetch=fetch))


def _verify(token: str, verifier: JwtVerifier | None = None):
    return asyncio.run((verifier or _verifier()).verify(token))


# credentials from headers
def test_bearer_credential_is_taken_from_authorization():
    assert credential_from("Bearer abc", None) == "abc"


def test_bearer_scheme_is_case_insensitive():
    assert credential_from("bearer abc", None) == "abc"


def test_api_key_header_alone_is_a_credential():
    assert credential_from(None, "tok") == "tok"


@pytest.mark.parametrize("authorization, api_key", [
    (None, None), ("Bearer ", None), ("Bearer", None), ("Basic dXNlcjpwYXNz", None), (None, "  "),
    ("Bearer a", "b"),
])
def test_missing_empty_foreign_or_conflicting_credentials_are_refused(authorization, api_key):
    with pytest.raises(AuthenticationError):
        credential_from(authorization, api_key)


def test_equal_values_in_both_headers_are_accepted():
    assert credential_from("Bearer same", "same") == "same"


def test_jwt_shape_is_three_dot_separated_parts():
    assert looks_like_jwt("a.b.c") and not looks_like_jwt(new_token())


# claims
def test_groups_follow_a_dotted_path():
    assert groups_at({"realm_access": {"roles": ["a", "b"]}}, "realm_access.roles") == ("a", "b")


def test_groups_claim_named_with_a_colon_is_read_as_is():
    assert groups_at({"cognito:groups": ["x"]}, "cognito:groups") == ("x",)


def test_missing_groups_claim_means_no_groups():
    assert groups_at({"sub": "u"}, "cognito:groups") == ()


@pytest.mark.parametrize("value", ["admins", [1, 2], {"a": 1}, None])
def test_groups_claim_of_the_wrong_type_is_refused(value):
    with pytest.raises(AuthenticationError):
        groups_at({"cognito:groups": value}, "cognito:groups")


def test_audience_list_must_contain_the_client():
    check_audience({"aud": ["other", "web"]}, "web")
    with pytest.raises(AuthenticationError):
        check_audience({"aud": ["other"]}, "web")


def test_access_token_without_aud_is_matched_by_client_id():
    check_audience({"client_id": "web", "token_use": "access"}, "web")


@pytest.mark.parametrize("claims", [{"client_id": "other", "token_use": "access"}, {"client_id": "web", "token_use": "id"}, {}])
def test_token_without_aud_needs_our_client_id_and_access_use(claims):
    with pytest.raises(AuthenticationError):
        check_audience(claims, "web")


def test_aud_wins_over_client_id():
    with pytest.raises(AuthenticationError):
        check_audience({"aud": "other", "client_id": "web"}, "web")


def test_principal_is_admin_by_group_membership():
    principal = principal_from_claims({"sub": "u", "realm_access": {"roles": ["admins"]}, "preferred_username": "bo"}, AUTH)
    assert (principal.id, principal.username, principal.is_admin, principal.method) == ("u", "bo", True, "jwt")


# signing keys
def test_symmetric_and_encryption_keys_are_never_signing_keys():
    keys = signing_keys(_jwks({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, {**_jwk(RSA_KEY, "enc"), "use": "enc"},
                              {**_jwk(RSA_KEY, "ps"), "alg": "PS256"}, _jwk(RSA_KEY, "ok")))
    assert list(keys) == ["ok"]


# JWT verification
def test_valid_rs256_token_verifies():
    principal, until = _verify(_token())
    assert principal.is_admin and principal.username == "alice" and until > time.time()


def test_valid_es256_token_verifies():
    principal, _ = _verify(_token(key=EC_KEY, alg="ES256", kid="e1"))
    assert principal.id == "u-1"


@pytest.mark.parametrize("case, token", [
    ("alg none", jwt.encode({"iss": ISSUER, "aud": "web", "sub": "u", "exp": int(time.time()) + 60}, None, algorithm="none",
                            headers={"kid": "k1"})),
    ("HS256", jwt.encode({"iss": ISSUER, "aud": "web", "sub": "u", "exp": int(time.time()) + 60}, "k" * 32, algorithm="HS256",
                         headers={"kid": "k1"})),
    ("wrong issuer", _token(iss="https://evil.example")),
    ("wrong audience", _token(aud="other")),
    ("expired", _token(exp=int(time.time()) - 60)),
    ("not yet valid", _token(nbf=int(time.time()) + 120)),
    ("issued in the future", _token(iat=int(time.time()) + 120)),
    ("no exp", _token(exp=None)),
    ("no sub", _token(sub=None)),
    ("unknown kid", _token(kid="nope")),
    ("EC key with RS alg", _token(kid="e1")),
    ("RSA key with ES alg", _token(key=EC_KEY, alg="ES256", kid="k1")),
    ("ES384 on a P-256 key", _token(key=ec.generate_private_key(ec.SECP384R1()), alg="ES384", kid="e1")),
    ("foreign key, known kid", _token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))),
    ("groups wrong type", _token(realm_access={"roles": "admins"})),
    ("garbage", "a.b.c"),
])
def test_bad_tokens_are_refused(case, token):
    with pytest.raises(AuthenticationError):
        _verify(token)


def test_tampered_payload_is_refused():
    header, payload, signature = _token().split(".")
    other = _token(sub="u-2").split(".")[1]
    with pytest.raises(AuthenticationError):
        _verify(".".join([header, other, signature]))


def test_unknown_kid_refetches_the_key_set_once_within_the_refresh_interval():
    calls: list[str] = []
    verifier = _verifier(calls=calls)

    async def run() -> None:
        await verifier.verify(_token())
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                await verifier.verify(_token(kid="rotated"))

    asyncio.run(run())
    assert len(calls) == 1


def test_requests_during_the_first_key_fetch_wait_for_it():
    async def slow_fetch_verifier():
        def fetch(url: str) -> dict:
            time.sleep(0.2)  # a slow IdP: the other requests arrive while this runs
            return _jwks(_jwk(RSA_KEY, "k1"))

        verifier = JwtVerifier(AUTH, JwksCache("memory://", min_refresh_s=60, fetch=fetch))
        return await asyncio.gather(*[verifier.verify(_token()) for _ in range(5)])

    assert [principal.id for principal, _ in asyncio.run(slow_fetch_verifier())] == ["u-1"] * 5


def test_rotated_key_is_found_after_the_refresh_interval():
    keys = {"set": _jwks(_jwk(RSA_KEY, "k1"))}
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = JwtVerifier(AUTH, JwksCache("memory://", min_refresh_s=0, fetch=lambda url: keys["set"]))

    async def run():
        await verifier.verify(_token())
        keys["set"] = _jwks(_jwk(RSA_KEY, "k1"), _jwk(new_key, "k2"))
        return await verifier.verify(_token(key=new_key, kid="k2"))

    assert asyncio.run(run())[0].id == "u-1"


# tokens
def test_token_item_round_trips_without_the_token():
    info = TokenInfo(token_uuid="abc", user_id="o", username="u", groups=["g"], name="n", created_date=15,
                     token_expiration=99, is_system_token=True, created_by="root")
    item = token_item(hash_token("secret"), info)
    assert info_from_item(item) == info and "secret" not in str(item)


def test_hand_written_item_with_only_hash_and_expiry_is_read():
    info = info_from_item({"tokenHash": "f" * 64, "tokenExpiration": 10})
    assert info.expired(now=11) and not info.principal(AUTH).is_admin


def test_an_item_of_the_earlier_shape_keeps_its_admin_flag():
    info = info_from_item({"tokenHash": "f" * 64, "tokenId": "t1", "owner": "o", "isAdmin": True, "createdAt": 5.5})
    principal = info.principal(AUTH)
    assert (info.token_uuid, info.user_id, info.created_date) == ("t1", "o", 5) and principal.is_admin


def test_token_roles_come_from_its_groups():
    from core.platform import AuthOutputs

    auth = AuthOutputs(authority=ISSUER, client_id="web", admin_group="admins", user_group="users",
                       rag_admin_group="rag", api_group="api")
    def roles(*groups):
        p = TokenInfo(token_uuid="u", user_id="x", username="x", groups=list(groups), created_date=0).principal(auth)
        return p.is_admin, p.is_rag_admin, p.may_issue_tokens, p.admitted, p.token_id
    assert roles() == (False, False, False, False, "u")
    assert roles("users") == (False, False, False, True, "u")
    assert roles("users", "api") == (False, False, True, True, "u")
    assert roles("rag") == (False, True, False, True, "u")
    assert roles("admins") == (True, True, True, True, "u")


def test_the_wire_shape_is_lisas_token_info():
    info = TokenInfo(token_uuid="abc", user_id="o", username="u", created_date=1, token_expiration=2)
    assert set(info.model_dump()) == {"tokenUUID", "tokenExpiration", "createdDate", "username", "createdBy", "name",
                                      "groups", "isSystemToken", "isExpired", "userId"}


def test_cache_forgets_expired_entries_and_stays_bounded():
    cache: ExpiringCache[int] = ExpiringCache(max_entries=3)
    cache.put("old", 1, time.time() - 1)
    for i in range(5):
        cache.put(f"k{i}", i, time.time() + 60)
    assert cache.get("old") is None and len(cache) == 3 and cache.get("k4") == 4
