/** What the comparison shows per model: time to first token, output speed and usage (pure). */
import type { Usage } from "../api/sse";

export interface Timing {
  startedAt: number;
  firstTokenAt: number | null;
  endedAt: number | null;
}

export interface Metrics {
  ttftMs: number | null;
  tokensPerSecond: number | null;
  usage: Usage | null;
}

/** Tokens per second over the time the answer was streaming (first token to end), from the reported usage. */
export function metrics(timing: Timing, usage: Usage | null): Metrics {
  const ttftMs = timing.firstTokenAt === null ? null : Math.round(timing.firstTokenAt - timing.startedAt);
  let tokensPerSecond: number | null = null;
  if (usage && timing.firstTokenAt !== null && timing.endedAt !== null) {
    const seconds = (timing.endedAt - timing.firstTokenAt) / 1000;
    tokensPerSecond = seconds > 0 ? Math.round((usage.completion_tokens / seconds) * 10) / 10 : null;
  }
  return { ttftMs, tokensPerSecond, usage };
}

export const MIN_COLUMNS = 2;
export const MAX_COLUMNS = 4;
