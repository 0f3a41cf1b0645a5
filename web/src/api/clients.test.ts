import { describe, expect, it } from "vitest";
import { parseModelEvents } from "./clients";

describe("parseModelEvents", () => {
  it("describes each kind of engine event", () => {
    const events = parseModelEvents({
      events: [
        { sequence: 1, time: 10, type: "job", message: "create: deploying stack lisa-test-model-m" },
        {
          sequence: 2,
          time: 11,
          type: "step",
          phase: "started",
          op: "create",
          resource: "m-registration",
          resourceType: "pulumi-python:dynamic:Resource",
        },
        { sequence: 3, time: 12, type: "diagnostic", severity: "error", message: "RuntimeError: boom" },
        { sequence: 4, time: 13, type: "summary", resourceChanges: { create: 2 }, durationSeconds: 4 },
      ],
    });
    expect(events.map((e) => [e.kind, e.message])).toEqual([
      ["job", "create: deploying stack lisa-test-model-m"],
      ["started", "create m-registration (pulumi-python:dynamic:Resource): started"],
      ["error", "RuntimeError: boom"],
      ["summary", "Deployment finished in 4 s: create 2"],
    ]);
  });

  it("gives nothing for a body without events", () => {
    expect(parseModelEvents({})).toEqual([]);
  });
});
