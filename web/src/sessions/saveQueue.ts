/**
 * A page's session saves, one at a time. A save that starts while the previous one is still on its way would be
 * based on the version before it and be refused as if another tab had saved (409); queued, it starts once the
 * previous save has answered with the version it made.
 */
export interface SaveQueue {
  /** Runs `task` after every task queued before it has settled (whether it succeeded or not). */
  run(task: () => Promise<void>): Promise<void>;
}

export function saveQueue(): SaveQueue {
  let tail: Promise<void> = Promise.resolve();
  return {
    run(task) {
      const next = tail.then(task);
      tail = next.catch(() => undefined);
      return next;
    },
  };
}
