import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import type { SessionSummary } from "../api/clients";
import { keys } from "../app/queries";
import { changeSessions } from "./useSessions";

const summary = (sessionId: string, name: string): SessionSummary => ({
  sessionId,
  name,
  model: "m",
  lastUpdated: "2026-12-03T00:00:00Z",
});

const ids = (client: QueryClient) => client.getQueryData<SessionSummary[]>(keys.sessions)?.map((s) => s.sessionId);

/** A server whose list answers arrive when the test says: each fetch is a promise the test resolves. */
function slowServer() {
  const pending: ((list: SessionSummary[]) => void)[] = [];
  const fetchList = () => new Promise<SessionSummary[]>((resolve) => pending.push(resolve));
  return { pending, fetchList };
}

describe("the cached session list", () => {
  it("keeps a saved session when a list fetched before the save lands after it", async () => {
    const client = new QueryClient();
    const server = slowServer();
    client.setQueryData(keys.sessions, [summary("old", "Old")]);
    // The sidebar (an observer) refetches the stale list on mount: that fetch is in flight.
    const sidebar = new QueryObserver(client, { queryKey: keys.sessions, queryFn: server.fetchList, staleTime: 0 });
    const unsubscribe = sidebar.subscribe(() => undefined);
    expect(server.pending).toHaveLength(1);

    changeSessions(client, (list) => [summary("new", "New"), ...list]); // a save the server acknowledged meanwhile
    server.pending[0]([summary("old", "Old")]); // what the server had listed before the save
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(ids(client)).toEqual(["new", "old"]);

    expect(server.pending).toHaveLength(2); // a fresh fetch, sent after the save
    server.pending[1]([summary("new", "New"), summary("old", "Old")]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(ids(client)).toEqual(["new", "old"]);
    unsubscribe();
  });

  it("fetches nothing more when no list fetch is in flight", () => {
    const client = new QueryClient();
    const server = slowServer();
    client.setQueryDefaults(keys.sessions, { queryFn: server.fetchList });
    client.setQueryData(keys.sessions, [summary("a", "A")]);
    changeSessions(client, (list) => list.map((s) => ({ ...s, name: "Renamed" })));
    expect(client.getQueryData<SessionSummary[]>(keys.sessions)?.[0].name).toBe("Renamed");
    expect(server.pending).toHaveLength(0);
  });
});
