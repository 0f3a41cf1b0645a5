/**
 * The two ways to sign in behind one interface: OIDC authorization code + PKCE (oidc-client-ts) against the
 * configured authority, or a username/password form against a Cognito endpoint (the local stack's emulator).
 * Both keep tokens in sessionStorage (tab-scoped) and refresh them shortly before they expire.
 */
import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import type { AuthConfig } from "../config/runtimeConfig";
import { needsRefresh, userFromIdToken, type AuthUser } from "./claims";
import { refreshWithToken, signInWithPassword, SignInError, type TokenSet } from "./cognitoPassword";

export interface Authenticator {
  readonly kind: "password" | "oidc";
  /** The signed-in user found at start (stored tokens, or the OIDC redirect coming back), else null. */
  restore(): Promise<AuthUser | null>;
  /** A valid ID token for API calls, refreshed if it is about to expire; null when signed out. */
  token(): Promise<string | null>;
  /** Refreshes now (after a 401); the new user, or null if the session cannot be renewed. */
  refresh(): Promise<AuthUser | null>;
  logout(): Promise<void>;
}

/** Where the IdP sends the browser back: the UI's root, which the Cognito app client registers as its callback. */
export const CALLBACK_PATH = "/";
const STORE_KEY = "lisa.auth.tokens";

/** The IdP's redirect back: the callback path with `code` (or `error`) and `state` in the query. */
export function isSigninCallback(location: { pathname: string; search: string }): boolean {
  const params = new URLSearchParams(location.search);
  return location.pathname === CALLBACK_PATH && params.has("state") && (params.has("code") || params.has("error"));
}

export class PasswordAuthenticator implements Authenticator {
  readonly kind = "password";
  private tokens: TokenSet | null = null;
  private pending: Promise<AuthUser | null> | null = null;
  // Bumped at sign-out, so a refresh still in flight cannot sign the user back in when it lands.
  private epoch = 0;

  constructor(private readonly config: AuthConfig) {}

  private user(tokens: TokenSet): AuthUser {
    return userFromIdToken(tokens.idToken, this.config.jwtGroupsProperty, this.config.adminGroup);
  }

  private save(tokens: TokenSet | null): void {
    this.tokens = tokens;
    if (tokens) sessionStorage.setItem(STORE_KEY, JSON.stringify(tokens));
    else sessionStorage.removeItem(STORE_KEY);
  }

  async restore(): Promise<AuthUser | null> {
    const raw = sessionStorage.getItem(STORE_KEY);
    if (!raw) return null;
    try {
      this.tokens = JSON.parse(raw) as TokenSet;
      const user = this.user(this.tokens);
      return needsRefresh(user.expiresAt, Date.now()) ? await this.refresh() : user;
    } catch {
      this.save(null);
      return null;
    }
  }

  async signIn(username: string, password: string): Promise<AuthUser> {
    const login = this.config.passwordLogin;
    if (!login) throw new SignInError("password sign-in is not configured");
    const tokens = await signInWithPassword(login, this.config.clientId, username, password);
    this.save(tokens);
    return this.user(tokens);
  }

  async token(): Promise<string | null> {
    if (!this.tokens) return null;
    if (needsRefresh(this.user(this.tokens).expiresAt, Date.now())) await this.refresh();
    return this.tokens?.idToken ?? null;
  }

  refresh(): Promise<AuthUser | null> {
    // One refresh at a time: concurrent calls share it.
    this.pending ??= this.doRefresh().finally(() => (this.pending = null));
    return this.pending;
  }

  private async doRefresh(): Promise<AuthUser | null> {
    const login = this.config.passwordLogin;
    if (!login || !this.tokens?.refreshToken) return null;
    const epoch = this.epoch;
    try {
      const tokens = await refreshWithToken(login, this.config.clientId, this.tokens.refreshToken);
      if (epoch !== this.epoch) return null;
      this.save(tokens);
      return this.user(tokens);
    } catch {
      if (epoch === this.epoch) this.save(null);
      return null;
    }
  }

  logout(): Promise<void> {
    this.epoch += 1;
    this.pending = null;
    this.save(null);
    return Promise.resolve();
  }
}

export class OidcAuthenticator implements Authenticator {
  readonly kind = "oidc";
  private readonly manager: UserManager;

  constructor(private readonly config: AuthConfig) {
    const origin = window.location.origin;
    this.manager = new UserManager({
      authority: config.authority,
      client_id: config.clientId,
      redirect_uri: origin + CALLBACK_PATH,
      post_logout_redirect_uri: origin + "/",
      response_type: "code", // authorization code; oidc-client-ts adds PKCE (S256) itself
      scope: config.scopes.join(" "),
      automaticSilentRenew: true,
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    });
  }

  private toUser(user: User | null): AuthUser | null {
    if (!user?.id_token || user.expired) return null;
    return userFromIdToken(user.id_token, this.config.jwtGroupsProperty, this.config.adminGroup);
  }

  async restore(): Promise<AuthUser | null> {
    if (isSigninCallback(window.location)) {
      const user = await this.manager.signinRedirectCallback();
      const back = typeof user.state === "string" && user.state.startsWith("/") ? user.state : "/";
      window.history.replaceState(null, "", back);
      return this.toUser(user);
    }
    const user = await this.manager.getUser();
    if (user && (user.expired || needsRefresh((user.expires_at ?? 0) * 1000, Date.now()))) return this.refresh();
    return this.toUser(user);
  }

  signIn(): Promise<void> {
    // Come back to where the user was; the IdP returns to the root with code and state, then we go there.
    return this.manager.signinRedirect({ state: window.location.pathname + window.location.search });
  }

  async token(): Promise<string | null> {
    const user = await this.manager.getUser();
    if (!user) return null;
    if (needsRefresh((user.expires_at ?? 0) * 1000, Date.now())) {
      return (await this.refresh()) ? ((await this.manager.getUser())?.id_token ?? null) : null;
    }
    return user.id_token ?? null;
  }

  async refresh(): Promise<AuthUser | null> {
    try {
      return this.toUser(await this.manager.signinSilent());
    } catch {
      await this.manager.removeUser();
      return null;
    }
  }

  async logout(): Promise<void> {
    try {
      await this.manager.signoutRedirect();
    } catch {
      // Providers without an end-session endpoint (Cognito's discovery lacks one): forget the user locally.
      await this.manager.removeUser();
    }
  }
}

export function createAuthenticator(config: AuthConfig): PasswordAuthenticator | OidcAuthenticator {
  return config.passwordLogin ? new PasswordAuthenticator(config) : new OidcAuthenticator(config);
}
