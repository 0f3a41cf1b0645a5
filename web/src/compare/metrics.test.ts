import { describe, expect, it } from "vitest";
import { metrics } from "./metrics";

const usage = { prompt_tokens: 10, completion_tokens: 50, total_tokens: 60 };

describe("comparison metrics", () => {
  it("measure the first token and the speed after it", () => {
    expect(metrics({ startedAt: 1000, firstTokenAt: 1250, endedAt: 3250 }, usage)).toEqual({
      ttftMs: 250,
      tokensPerSecond: 25,
      usage,
    });
  });

  it("say nothing they could not measure", () => {
    expect(metrics({ startedAt: 0, firstTokenAt: null, endedAt: 10 }, null)).toEqual({
      ttftMs: null,
      tokensPerSecond: null,
      usage: null,
    });
    expect(metrics({ startedAt: 0, firstTokenAt: 5, endedAt: 5 }, usage).tokensPerSecond).toBeNull();
  });
});
