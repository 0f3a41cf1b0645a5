import { describe, expect, it } from "vitest";
import { fillVariables, insertDirective, templateVariables } from "./templates";

describe("template variables", () => {
  it("lists each variable once, in order", () => {
    expect(templateVariables("Hi {{name}}, about {{ topic }}. Bye {{name}}. {{ bad! }}")).toEqual(["name", "topic"]);
  });

  it("fills what was given and keeps the rest visible", () => {
    expect(fillVariables("Talk about {{ topic }} to {{audience}}.", { topic: "tides", audience: " " })).toBe(
      "Talk about tides to {{audience}}.",
    );
  });

  it("puts a directive after the draft on a line of its own", () => {
    expect(insertDirective("", "Be brief.")).toBe("Be brief.");
    expect(insertDirective("Explain tides  \n", "Be brief.")).toBe("Explain tides\n\nBe brief.");
  });
});
