import { describe, expectTypeOf, it } from "vitest";
import type { ApiSession, ModelRecord, Repository, SessionSummary, TokenInfo } from "./clients";
import type { Declared, Schemas } from "./wire";

// Checked by the compiler (tsc -b in the build): a wrong type fails the build, not a test run.
describe("Declared", () => {
  interface StandIn {
    id: string;
  }

  it("takes the stand-in while the api answers an undeclared object, a list of them, nothing or anything", () => {
    expectTypeOf<Declared<{ [key: string]: unknown }, StandIn>>().toEqualTypeOf<StandIn>();
    expectTypeOf<Declared<{ [key: string]: unknown }[], StandIn[]>>().toEqualTypeOf<StandIn[]>();
    expectTypeOf<Declared<never, StandIn>>().toEqualTypeOf<StandIn>();
    expectTypeOf<Declared<unknown, StandIn>>().toEqualTypeOf<StandIn>();
  });

  it("takes the generated type once the api declares one", () => {
    expectTypeOf<Declared<{ id: number }, StandIn>>().toEqualTypeOf<{ id: number }>();
    expectTypeOf<Declared<{ id: number }[], StandIn[]>>().toEqualTypeOf<{ id: number }[]>();
  });
});

describe("the clients' types", () => {
  it("come from the generated schema where the api declares them", () => {
    expectTypeOf<TokenInfo>().toEqualTypeOf<Schemas["TokenInfo"]>();
    expectTypeOf<ModelRecord>().toEqualTypeOf<Schemas["ModelRecord"]>();
  });

  it("follow the api as it declares more routes", () => {
    expectTypeOf<SessionSummary>().toEqualTypeOf<Schemas["SessionSummary"]>();
    expectTypeOf<ApiSession>().toEqualTypeOf<Schemas["Session"]>();
  });

  it("are usable shapes, never a bag of unknowns, where it does not yet", () => {
    expectTypeOf<ModelRecord["status"]>().toExtend<string>();
    expectTypeOf<Repository["repositoryId"]>().toEqualTypeOf<string>();
  });
});
