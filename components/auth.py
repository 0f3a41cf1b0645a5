"""Auth: an existing OIDC provider (outputs only) or a Cognito user pool, admin group and public app client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pulumi
import pulumi_aws as aws

from components.stage_context import StageContext
from core import naming
from core.config import CognitoAuthConfig, OidcAuthConfig

STANDARD_SCOPES = ("openid", "email", "profile")


def callback_urls(web_url: str, configured: Sequence[str]) -> list[str]:
    """The UI's origin (with and without the trailing slash, Cognito matches exactly) plus the configured ones."""
    base = web_url.rstrip("/")
    return list(dict.fromkeys([base, f"{base}/", *configured]))


@dataclass(frozen=True)
class AuthArgs:
    context: StageContext
    config: OidcAuthConfig | CognitoAuthConfig
    # The chat UI's URL, a redirect target of the Cognito app client (ignored for OIDC).
    web_url: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.config, (OidcAuthConfig, CognitoAuthConfig)):
            raise TypeError("config must be an OidcAuthConfig or a CognitoAuthConfig")


class Auth(pulumi.ComponentResource):
    authority: pulumi.Output[str]
    client_id: pulumi.Output[str]
    user_pool_id: pulumi.Output[str] | None
    hosted_ui_domain: pulumi.Output[str] | None
    outputs: pulumi.Output[dict[str, Any]]  # shaped like core.platform.AuthOutputs

    def __init__(self, name: str, args: AuthArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:Auth", name, None, opts)
        config = args.config
        self.user_pool_id = None
        self.hosted_ui_domain = None
        if isinstance(config, CognitoAuthConfig):
            self._cognito(name, args.context, config, args.web_url)
        else:
            self.authority = pulumi.Output.from_input(config.authority)
            self.client_id = pulumi.Output.from_input(config.client_id)
        fields = {
            "authority": self.authority,
            "clientId": self.client_id,
            "adminGroup": config.admin_group,
            "jwtGroupsProperty": config.jwt_groups_property,
            "additionalScopes": list(config.additional_scopes),
            "userGroup": config.user_group,
            "ragAdminGroup": config.rag_admin_group,
            "apiGroup": config.api_group,
        }
        if self.user_pool_id is not None:
            fields["userPoolId"] = self.user_pool_id
        self.outputs = pulumi.Output.all(**fields)
        self.register_outputs({"outputs": self.outputs, "hostedUiDomain": self.hosted_ui_domain})

    def _cognito(self, name: str, ctx: StageContext, config: CognitoAuthConfig,
                 web_url: pulumi.Input[str] | None) -> None:
        child = pulumi.ResourceOptions(parent=self)
        mfa = {"off": "OFF", "optional": "OPTIONAL", "on": "ON"}[config.mfa]
        pool = aws.cognito.UserPool(
            f"{name}-user-pool",
            name=naming.user_pool(ctx.deployment, ctx.stage_name),
            password_policy={"minimum_length": 12, "require_lowercase": True, "require_uppercase": True,
                             "require_numbers": True, "require_symbols": True,
                             "temporary_password_validity_days": 3, "password_history_size": 5},
            mfa_configuration=mfa,
            software_token_mfa_configuration={"enabled": True} if mfa != "OFF" else None,
            # Users are invited by an admin: a platform for one team, not a public sign-up page.
            admin_create_user_config={"allow_admin_create_user_only": True},
            auto_verified_attributes=["email"],
            account_recovery_setting={"recovery_mechanisms": [{"name": "verified_email", "priority": 1}]},
            deletion_protection="ACTIVE" if ctx.retain else "INACTIVE",
            opts=child,
        )
        aws.cognito.UserGroup(f"{name}-admin-group", name=config.admin_group, user_pool_id=pool.id,
                              description="LISA administrators (model management, API tokens)", opts=child)
        for role, group in (("user", config.user_group), ("rag-admin", config.rag_admin_group),
                            ("api", config.api_group)):
            if group and group != config.admin_group:
                aws.cognito.UserGroup(f"{name}-{role}-group", name=group, user_pool_id=pool.id, opts=child)
        domain_prefix = config.domain_prefix or pulumi.Output.from_input(ctx.account_id).apply(
            lambda account: naming.cognito_domain_prefix(ctx.deployment, ctx.stage_name, account))
        domain = aws.cognito.UserPoolDomain(f"{name}-domain", domain=domain_prefix, user_pool_id=pool.id, opts=child)
        redirects = pulumi.Output.from_input(web_url or "").apply(
            lambda url: callback_urls(url, config.callback_urls) if url else list(config.callback_urls))
        client = aws.cognito.UserPoolClient(
            f"{name}-web-client",
            name="lisa-web",
            user_pool_id=pool.id,
            generate_secret=False,  # a browser app cannot keep a secret: authorization code + PKCE instead
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=list(dict.fromkeys([*STANDARD_SCOPES, *config.additional_scopes])),
            supported_identity_providers=["COGNITO"],
            callback_urls=redirects,
            logout_urls=redirects,
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=12,
            token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "hours"},
            opts=child,
        )
        self.user_pool_id = pool.id
        self.client_id = client.id
        self.authority = pool.id.apply(lambda pool_id: f"https://cognito-idp.{ctx.region}.amazonaws.com/{pool_id}")
        self.hosted_ui_domain = domain.domain.apply(lambda d: f"https://{d}.auth.{ctx.region}.amazoncognito.com")
