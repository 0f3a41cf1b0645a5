import { describe, expect, it } from "vitest";
import { saveQueue } from "./saveQueue";

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe("saveQueue", () => {
  it("starts a save only once the one before it has answered", async () => {
    const queue = saveQueue();
    const first = deferred();
    const events: string[] = [];
    const a = queue.run(async () => {
      events.push("first starts");
      await first.promise;
      events.push("first answered");
    });
    const b = queue.run(() => {
      events.push("second starts");
      return Promise.resolve();
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(events).toEqual(["first starts"]);
    first.resolve();
    await Promise.all([a, b]);
    expect(events).toEqual(["first starts", "first answered", "second starts"]);
  });

  it("runs the next save after one that failed, and reports the failure to its caller", async () => {
    const queue = saveQueue();
    const failing = queue.run(() => Promise.reject(new Error("refused")));
    let ran = false;
    const next = queue.run(() => {
      ran = true;
      return Promise.resolve();
    });
    await expect(failing).rejects.toThrow("refused");
    await next;
    expect(ran).toBe(true);
  });
});
