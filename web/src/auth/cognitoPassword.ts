/**
 * Username/password sign-in with Cognito's InitiateAuth (USER_PASSWORD_AUTH), and refresh (REFRESH_TOKEN_AUTH).
 * Used against the local stack's Cognito emulator, where there is no hosted login page to redirect to.
 */
import type { PasswordLoginConfig } from "../config/runtimeConfig";

export interface TokenSet {
  idToken: string;
  accessToken: string;
  refreshToken: string | null;
}

export class SignInError extends Error {}

async function initiateAuth(config: PasswordLoginConfig, body: Record<string, unknown>): Promise<any> {
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
  const text = await response.text();
  let data: any = {};
  try {
    data = JSON.parse(text);
  } catch {
    data = {};
  }
  if (!response.ok) {
    throw new SignInError(data.message ?? data.Message ?? `Sign-in failed (HTTP ${response.status}).`);
  }
  if (data.ChallengeName)
    throw new SignInError(`This account needs ${data.ChallengeName}, which this form does not support.`);
  return data.AuthenticationResult;
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
  return { idToken: result.IdToken, accessToken: result.AccessToken, refreshToken: result.RefreshToken ?? null };
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
  return {
    idToken: result.IdToken,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken ?? refreshToken,
  };
}
