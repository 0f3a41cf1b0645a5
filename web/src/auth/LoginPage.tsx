import { useState, type FormEvent } from "react";
import type { RuntimeConfig } from "../config/runtimeConfig";
import { OidcAuthenticator, PasswordAuthenticator } from "./authenticator";
import type { AuthUser } from "./claims";

export function LoginPage(props: {
  config: RuntimeConfig;
  authenticator: PasswordAuthenticator | OidcAuthenticator;
  onSignedIn: (user: AuthUser) => void;
  initialError?: string | null;
}) {
  const { config, authenticator, onSignedIn } = props;
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(props.initialError ?? null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (authenticator instanceof PasswordAuthenticator)
        onSignedIn(await authenticator.signIn(username.trim(), password));
      else await authenticator.signIn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="centered">
      <form className="card login" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">{config.title ?? "LISA"}</h1>
        {authenticator instanceof PasswordAuthenticator ? (
          <>
            <p className="muted">Sign in with your account.</p>
            <label>
              Username
              <input
                name="username"
                autoComplete="username"
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                required
                autoFocus
              />
            </label>
            <label>
              Password
              <input
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </label>
          </>
        ) : (
          <p className="muted">You will be sent to your organisation's sign-in page.</p>
        )}
        {error ? (
          <p className="error-box" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
