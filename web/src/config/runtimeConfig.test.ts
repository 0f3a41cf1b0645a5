import { describe, expect, it } from "vitest";
import { ConfigProblem, parseRuntimeConfig, type RuntimeConfig } from "./runtimeConfig";

// Typed as the generated RuntimeConfig: the shape components/web_config.py writes, checked by the compiler.
const local: RuntimeConfig = {
  title: "LISA (local)",
  serveUrl: "http://127.0.0.1:1/v2/serve",
  apiUrl: "http://127.0.0.1:2",
  auth: {
    authority: "https://idp/pool",
    clientId: "c",
    adminGroup: "admins",
    jwtGroupsProperty: "cognito:groups",
    scopes: ["openid", "profile", "email"],
    apiGroup: "lisa-api-users",
    passwordLogin: { cognitoEndpoint: "http://127.0.0.1:3", region: "us-east-1" },
  },
};
const deployed: RuntimeConfig = {
  serveUrl: "https://serve.example.com/v2/serve",
  apiUrl: "https://api.example.com",
  auth: { ...local.auth, authority: "https://idp", passwordLogin: null, scopes: ["openid", "email", "groups"] },
};

describe("parseRuntimeConfig", () => {
  it("reads the local stack's config as written", () => {
    expect(parseRuntimeConfig(JSON.parse(JSON.stringify(local)))).toEqual(local);
  });

  it("reads a deployment's config: no password login, the default title", () => {
    const config = parseRuntimeConfig(JSON.parse(JSON.stringify(deployed)));
    expect(config.auth.passwordLogin).toBeNull();
    expect([config.title, config.serveUrl, config.auth.scopes]).toEqual([
      "LISA",
      "https://serve.example.com/v2/serve",
      ["openid", "email", "groups"],
    ]);
  });

  it("drops trailing slashes from URLs", () => {
    const config = parseRuntimeConfig({ ...local, serveUrl: "http://127.0.0.1:1/v2/serve/", apiUrl: "http://a/" });
    expect([config.serveUrl, config.apiUrl]).toEqual(["http://127.0.0.1:1/v2/serve", "http://a"]);
  });

  it("reads a config without an API group as admins-only self-service", () => {
    const { apiGroup: _, ...auth } = local.auth;
    expect(parseRuntimeConfig({ ...local, auth }).auth.apiGroup).toBe("");
  });

  it("names every missing field", () => {
    expect(() => parseRuntimeConfig({ auth: { passwordLogin: {} } })).toThrow(
      new ConfigProblem(
        "serveUrl: expected a non-empty string; apiUrl: expected a non-empty string; " +
          "auth.authority: expected a non-empty string; auth.clientId: expected a non-empty string; " +
          "auth.adminGroup: expected a non-empty string; auth.jwtGroupsProperty: expected a non-empty string; " +
          "auth.scopes: expected a non-empty list of strings; auth.passwordLogin.cognitoEndpoint: expected a non-empty string; " +
          "auth.passwordLogin.region: expected a non-empty string",
      ),
    );
  });

  it("refuses what is not an object", () => {
    expect(() => parseRuntimeConfig("nope")).toThrow(/config.json: expected a JSON object/);
  });
});
