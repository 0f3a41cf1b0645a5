"""Serve under test: the real gateway (uvicorn subprocess, free port) on the emulated platform, in front of the
stand-in upstream. Models are registered the way the lifecycle does it: a model record, then its Registration."""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest
import requests

from core import aws
from core.models import ModelRecord, ModelType
from core.platform import PlatformOutputs
from core.registry import ModelRegistry, Registration
from tests.fixtures import processes
from tests.fixtures.eventually import eventually
from tests.fixtures.serve import wait_routable

GATEWAY_TIMEOUT_S = 2.0  # short, so the slow-upstream test sees a 504 quickly


@contextmanager
def run_gateway(platform: PlatformOutputs, log_path, env: dict[str, str] | None = None,
                **settings: str) -> Iterator[str]:
    """A gateway subprocess; yields its base URL (no path)."""
    settings = {"upstream_timeout_s": str(GATEWAY_TIMEOUT_S), "log_level": "INFO", **settings}
    with processes.serve_app(platform.model_dump_json(), log=log_path, env=env, **settings) as (base, _):
        yield base


@pytest.fixture(scope="session")
def serve_platform(platform) -> PlatformOutputs:
    """The emulated platform with a models table of serve's tests' own, so the models registered here and the
    registry versions they bump never meet other suites' model lists (and theirs never reach these gateways)."""
    from core.tables import TABLES

    outputs, _ = platform
    spec = next(t for t in TABLES if t.key == "models")
    name = f"{outputs.tables.models}-serve-tests"
    try:
        aws.client("dynamodb").create_table(TableName=name, AttributeDefinitions=spec.attribute_definitions(),
                                            KeySchema=spec.key_schema(), BillingMode="PAY_PER_REQUEST")
    except aws.client("dynamodb").exceptions.ResourceInUseException:
        pass
    return outputs.model_copy(update={"tables": outputs.tables.model_copy(update={"models": name})})


@pytest.fixture(scope="session")
def registry(serve_platform) -> ModelRegistry:
    return ModelRegistry(serve_platform.tables.models)


@pytest.fixture(scope="session")
def register(registry: ModelRegistry) -> Callable[..., Registration]:
    """Publish a model the way the lifecycle does: its record, then its registration (bumps the version)."""

    def publish(model_id: str, upstream_model: str, api_base: str, *, model_type: ModelType = ModelType.TEXTGEN,
                streaming: bool = True, api_key_secret_id: str | None = None, provider: str = "openai",
                allowed_groups: list[str] | None = None, **params) -> Registration:
        record = ModelRecord(model_id=model_id, model_name=f"{provider}/{upstream_model}", model_url=api_base,
                             model_type=model_type, streaming=streaming and model_type is ModelType.TEXTGEN)
        try:
            registry.create(record)
        except Exception:  # noqa: BLE001 (already made by an earlier test)
            pass
        registration = Registration(
            model_name=model_id, model_type=model_type, streaming=record.streaming, api_key_secret_id=api_key_secret_id,
            litellm_params={"model": f"{provider}/{upstream_model}", "api_base": api_base, **params},
            allowed_groups=allowed_groups or [],
        )
        registry.set_registration(model_id, registration)
        return registration

    return publish


def assert_leaving_client_cancels_upstream(base: str, token: str, stand_in_stats: Callable[[], dict]) -> None:
    """Open a drip stream on a raw socket, read the first event, hang up: the stand-in must see its stream cancelled."""
    before = stand_in_stats()["streams_cancelled"]
    body = b'{"model":"drip","stream":true,"messages":[{"role":"user","content":"a b c d e f g h i j k l m n o p"}]}'
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(b"POST /v2/serve/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"authorization: Bearer " + token.encode() + b"\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        received = b""
        while b"data:" not in received:
            received += sock.recv(4096)
    eventually(lambda: stand_in_stats()["streams_cancelled"] != before, 5, "the upstream stream cancelled after the "
               "client left")


@pytest.fixture(scope="session")
def master_key() -> str:
    from tests.fixtures.stage import TEST_MASTER_KEY

    return TEST_MASTER_KEY


@pytest.fixture(scope="session")
def closed_port_url() -> str:
    return f"http://127.0.0.1:{processes.free_port()}/v1"  # nothing listens there


@pytest.fixture(scope="session")
def model_api_key(platform) -> tuple[str, str]:
    """(secret id, value) of an upstream API key kept in Secrets Manager."""
    value = "sk-upstream-secret-1234"
    arn = aws.client("secretsmanager").create_secret(Name="lisa-test/models/keyed/api-key", SecretString=value)["ARN"]
    return arn, value


@pytest.fixture(scope="session")
def models(register, stand_in_upstream: str, closed_port_url: str, model_api_key) -> dict[str, str]:
    """The models every serve test may use, by role → model id."""
    base = stand_in_upstream
    register("chat", "stand-in-chat", base)
    register("embed", "stand-in-embed", base, model_type=ModelType.EMBEDDING)
    register("down", "stand-in-chat", closed_port_url)
    register("slow", f"slow-{int(GATEWAY_TIMEOUT_S * 1000) + 1500}", base)
    register("garbage", "garbage", base)
    register("cut", "cut-stream", base)
    register("limited", "fault-429", base)
    register("unavailable", "fault-503", base)
    register("refuses-us", "fault-401", base)
    register("drip", "drip-200", base)
    register("keyed", "stand-in-chat", base, api_key_secret_id=model_api_key[0],
             extra_headers={"X-Lisa-Model": "keyed"})
    return {"chat": "chat", "embed": "embed"}


@pytest.fixture(scope="session")
def gateway(serve_platform, models, master_key, test_output) -> Iterator[str]:
    """Base URL of the gateway on the emulated platform (Cognito auth), with the test models routable."""
    with run_gateway(serve_platform, test_output / "serve-gateway.log") as base:
        wait_routable(base, "keyed", master_key)
        yield base


@pytest.fixture(scope="session")
def tokens(platform):
    from services.identity.tokens import TokenStore

    outputs, _ = platform
    return TokenStore(outputs.tables.tokens)


@pytest.fixture(scope="session")
def user_token(tokens) -> str:
    token, _ = tokens.issue(user_id="user-1", username="alice", name="tests")
    return token


@pytest.fixture(scope="session")
def admin_token(tokens) -> str:
    token, _ = tokens.issue(user_id="admin-1", username="root", groups=["lisa-admins"], name="tests")
    return token


# Self-signed tokens: our own keys, served by a tiny JWKS server, for the cases a real IdP will not mint ----------
OIDC_ISSUER = "https://idp.test.example/realms/lisa"
OIDC_CLIENT = "lisa-web"
OIDC_ADMIN_GROUP = "lisa-admins"
JWKS_MIN_REFRESH_S = 1.0
UI_ORIGIN = "http://ui.test.example"


class SelfSignedIdp:
    """Signs tokens with its own RSA and EC keys and serves their public halves as a JWKS."""

    def __init__(self) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.jwks = {"keys": [
            {**jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"},
            {**jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"},
        ]}
        self.url = ""

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {"iss": OIDC_ISSUER, "aud": OIDC_CLIENT, "sub": "user-42", "preferred_username": "erin", "iat": now,
                  "exp": now + 600, "realm_access": {"roles": ["users"]}}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict | None = None, *, key=None, alg: str = "RS256", kid: str | None = "rsa-1") -> str:
        import jwt

        return jwt.encode(self.claims() if claims is None else claims, key or self.rsa, algorithm=alg,
                          headers={"kid": kid} if kid else None)

    def add_key(self, public_jwk: dict) -> None:
        self.jwks["keys"].append(public_jwk)


@pytest.fixture(scope="session")
def test_idp() -> Iterator[SelfSignedIdp]:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    idp = SelfSignedIdp()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.dumps(idp.jwks).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    idp.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield idp
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def oidc_gateway(serve_platform, models, test_idp: SelfSignedIdp, master_key, test_output) -> Iterator[str]:
    """A gateway whose IdP is the test IdP (groups at the dotted path realm_access.roles)."""
    from core.platform import AuthOutputs

    outputs = serve_platform
    auth = AuthOutputs(authority=OIDC_ISSUER, client_id=OIDC_CLIENT, admin_group=OIDC_ADMIN_GROUP,
                       jwt_groups_property="realm_access.roles", jwks_url=test_idp.url)
    with run_gateway(outputs.model_copy(update={"auth": auth}), test_output / "serve-oidc-gateway.log",
                     jwks_min_refresh_s=str(JWKS_MIN_REFRESH_S), cors_origins=UI_ORIGIN) as base:
        wait_routable(base, "chat", master_key)
        yield base


@pytest.fixture(scope="session")
def cognito_tokens(platform) -> dict[str, str]:
    """Real Cognito tokens from the emulator for the admin user: {'id': …, 'access': …}."""
    outputs, admin = platform
    result = aws.client("cognito-idp").admin_initiate_auth(
        UserPoolId=outputs.auth.user_pool_id, ClientId=outputs.auth.client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": admin.username, "PASSWORD": admin.password})["AuthenticationResult"]
    return {"id": result["IdToken"], "access": result["AccessToken"]}


@pytest.fixture(scope="session")
def litellm_gateway(serve_platform, models, master_key, test_output) -> Iterator[str]:
    """A gateway with pass-through off: every model goes through LiteLLM's Router in-process."""
    with run_gateway(serve_platform, test_output / "serve-litellm-gateway.log", passthrough="false") as base:
        wait_routable(base, "chat", master_key, timeout=30)
        yield base


API_GROUP = "api-users"


@pytest.fixture(scope="session")
def token_api(serve_platform, test_output) -> Iterator[str]:
    """Base URL of the api app (where the token routes live) as a real process, on serve's platform with an API group
    (members may issue their own tokens); it deploys no model here."""
    outputs = serve_platform.model_copy(update={"auth": serve_platform.auth.model_copy(update={"api_group": API_GROUP})})
    env = {"LISA_PLATFORM": outputs.model_dump_json(),
           **processes.engine_env(test_output / "token-api-model-stacks", LISA_ENGINE_RESUME_ON_START="false")}
    with processes.api_app(env, log=test_output / "token-api.log") as (base, _):
        yield base
