"""The web UI's runtime configuration, served as its /config.json: one model, the one producer of that file.

The ChatUi component publishes it for a deployment, the local stack writes it for a run on this machine, and the UI
reads this one shape (web/src/config/runtimeConfig.ts, whose type `make api-types` generates from this model).
The build itself holds no URL or client id. No Pulumi here.
"""

from __future__ import annotations

from pydantic import Field

from core.platform import AuthOutputs
from core.schema import CamelModel

# What every sign-in asks for; the deployment's auth config may add more (additionalScopes).
BASE_SCOPES = ("openid", "profile", "email")
OPENAI_PATH = "/v2/serve"


class PasswordLogin(CamelModel):
    """A username/password form against Cognito's InitiateAuth at this endpoint, for the local stack's emulator,
    which has no hosted login page to redirect to. Absent: the OIDC authorization-code flow with PKCE."""

    cognito_endpoint: str
    region: str


class WebAuthConfig(CamelModel):
    authority: str = Field(description="The OIDC issuer.")
    client_id: str
    admin_group: str = Field(description="Its members see the admin pages.")
    jwt_groups_property: str = Field(description="Dotted path of the groups claim in the ID token.")
    scopes: list[str] = Field(description="Every scope the sign-in asks for.")
    api_group: str = Field(default="", description="Its members (and admins) may issue their own API tokens; "
                                                   "empty: admins only.")
    password_login: PasswordLogin | None = None


class WebRuntimeConfig(CamelModel):
    title: str = Field(default="LISA", description="Shown in the header and the tab.")
    serve_url: str = Field(description="The OpenAI base URL (serve's origin and /v2/serve).")
    api_url: str = Field(description="The api app's base URL.")
    auth: WebAuthConfig

    @classmethod
    def build(cls, *, serve_origin: str, api_url: str, auth: AuthOutputs, title: str = "LISA",
              password_login: PasswordLogin | None = None) -> WebRuntimeConfig:
        """The config for apps at these URLs (serve's origin, without a path), signing in with `auth`."""
        return cls(
            title=title, serve_url=f"{serve_origin.rstrip('/')}{OPENAI_PATH}", api_url=api_url.rstrip("/"),
            auth=WebAuthConfig(
                authority=auth.authority.rstrip("/"), client_id=auth.client_id, admin_group=auth.admin_group,
                jwt_groups_property=auth.jwt_groups_property, api_group=auth.api_group,
                scopes=list(dict.fromkeys([*BASE_SCOPES, *auth.additional_scopes])), password_login=password_login))

    def connect_urls(self) -> list[str]:
        """Where the UI sends requests: serve, the api and the IdP (its authority, and the password-login endpoint
        when there is one)."""
        login = self.auth.password_login
        return [self.serve_url, self.api_url, self.auth.authority, *([login.cognito_endpoint] if login else [])]
