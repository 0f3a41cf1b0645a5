/**
 * Username/password sign-in with Cognito's InitiateAuth (USER_PASSWORD_AUTH), and refresh (REFRESH_TOKEN_AUTH).
 * Used against the local stack's Cognito emulator, where there is no hosted login page to redirect to.
 */
import { asObject, asString, parseJson } from "../api/json";
import type { PasswordLoginConfig } from "../config/runtimeConfig";

export interface TokenSet {
  idToken: string;
  accessToken: string;
  refreshToken: string | null;
}

export class SignInError extends Error {}

/** Cognito's `AuthenticationResult`: the tokens, each checked to be a string. */
interface AuthenticationResult {
  idToken: string;
  accessToken: string;
  refreshToken: string | null;
}

async function initiateAuth(config: PasswordLoginConfig, body: Record<string, unknown>): Promise<AuthenticationResult> {
  let response: Response;
  try {
    response = await fetch(`${config.cognitoEndpoint}/`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new SignInError(`Could not reach the sign-in service (${(error as Error).message}).`);
  }
  const data = asObject(parseJson(await response.text()));
  if (!response.ok) {
    throw new SignInError(
      asString(data.message) ?? asString(data.Message) ?? `Sign-in failed (HTTP ${response.status}).`,
    );
  }
  const challenge = asString(data.ChallengeName);
  if (challenge) throw new SignInError(`This account needs ${challenge}, which this form does not support.`);
  const result = asObject(data.AuthenticationResult);
  const idToken = asString(result.IdToken);
  const accessToken = asString(result.AccessToken);
  if (!idToken || !accessToken) throw new SignInError("The sign-in service answered without tokens.");
  return { idToken, accessToken, refreshToken: asString(result.RefreshToken) ?? null };
}

export async function signInWithPassword(
  config: PasswordLoginConfig,
  clientId: string,
  username: string,
  password: string,
): Promise<TokenSet> {
  const result = await initiateAuth(config, {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return result;
}

export async function refreshWithToken(
  config: PasswordLoginConfig,
  clientId: string,
  refreshToken: string,
): Promise<TokenSet> {
  const result = await initiateAuth(config, {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    ClientId: clientId,
    AuthParameters: { REFRESH_TOKEN: refreshToken },
  });
  // Cognito keeps the refresh token unless it rotates it.
  return { ...result, refreshToken: result.refreshToken ?? refreshToken };
}
