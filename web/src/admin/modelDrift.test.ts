import { describe, expect, it } from "vitest";
import { driftBadge, driftRows, showValue } from "./modelDrift";

describe("drift badge", () => {
  it("says when no check has run", () => {
    expect(driftBadge({ drift: null }).tone).toBe("unknown");
  });
  it("is in sync after a clean check", () => {
    expect(driftBadge({ drift: { checkedAt: 1, drifted: false, differences: 0 } })).toMatchObject({
      label: "in sync",
      tone: "ok",
    });
  });
  it("counts the differences of a drifted model", () => {
    expect(driftBadge({ drift: { checkedAt: 1, drifted: true, differences: 3 } })).toMatchObject({
      label: "drift: 3",
      tone: "warn",
    });
  });
});

describe("drift rows", () => {
  it("name each part and property with what was declared and what AWS holds", () => {
    const rows = driftRows({
      modelId: "m",
      checkedAt: 1,
      drifted: true,
      resources: [
        {
          resource: "model",
          type: "HostedModel",
          differences: [
            { part: "autoScalingGroup", property: "desiredCapacity", expected: 1, actual: 3 },
            { part: "listenerRule", property: "", expected: "present", actual: null },
          ],
        },
        { resource: "registration", type: "LiteLLMRegistration", differences: [] },
      ],
    });
    expect(rows).toEqual([
      { resource: "model", where: "autoScalingGroup.desiredCapacity", expected: "1", actual: "3" },
      { resource: "model", where: "listenerRule", expected: "present", actual: "(missing)" },
    ]);
  });
  it("shows objects as compact JSON", () => {
    expect(showValue({ a: 1 })).toBe('{"a":1}');
  });
});
