import { describe, expect, it } from "vitest";
import { ConfigProblem, parseRuntimeConfig } from "./runtimeConfig";

const valid = {
  serveUrl: "http://127.0.0.1:1/v2/serve/",
  apiUrl: "http://127.0.0.1:2",
  auth: {
    authority: "https://idp/pool",
    clientId: "c",
    adminGroup: "admins",
    passwordLogin: { cognitoEndpoint: "http://127.0.0.1:3/" },
  },
};

describe("parseRuntimeConfig", () => {
  it("normalises URLs and fills defaults", () => {
    const config = parseRuntimeConfig(valid);
    expect(config.serveUrl).toBe("http://127.0.0.1:1/v2/serve");
    expect(config.auth.jwtGroupsProperty).toBe("cognito:groups");
    expect(config.auth.passwordLogin).toEqual({ cognitoEndpoint: "http://127.0.0.1:3", region: "us-east-1" });
    expect(config.title).toBe("LISA");
  });

  it("uses the OIDC redirect when passwordLogin is absent", () => {
    expect(
      parseRuntimeConfig({ ...valid, auth: { ...valid.auth, passwordLogin: undefined } }).auth.passwordLogin,
    ).toBeNull();
  });

  it("takes the deployment's config as the ChatUi component writes it", () => {
    const config = parseRuntimeConfig({
      serveUrl: "https://serve.example.com",
      openAiBaseUrl: "https://serve.example.com/v2/serve",
      apiUrl: "https://api.example.com/",
      auth: { authority: "https://idp", clientId: "c", adminGroup: "a", scopes: ["openid", "email", "groups"] },
    });
    expect([config.serveUrl, config.apiUrl, config.auth.scopes]).toEqual([
      "https://serve.example.com/v2/serve",
      "https://api.example.com",
      ["openid", "email", "groups"],
    ]);
  });

  it("adds /v2/serve to a bare serve origin and keeps an explicit version path", () => {
    expect(parseRuntimeConfig({ ...valid, serveUrl: "https://serve.example.com/" }).serveUrl).toBe(
      "https://serve.example.com/v2/serve",
    );
    expect(parseRuntimeConfig({ ...valid, serveUrl: "https://serve.example.com/v1" }).serveUrl).toBe(
      "https://serve.example.com/v1",
    );
  });

  it("names every missing field", () => {
    expect(() => parseRuntimeConfig({ auth: {} })).toThrow(
      new ConfigProblem(
        "serveUrl: expected a non-empty string; apiUrl: expected a non-empty string; auth.authority: expected a non-empty string; auth.clientId: expected a non-empty string; auth.adminGroup: expected a non-empty string",
      ),
    );
  });
});
