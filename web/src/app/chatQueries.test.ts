import { MutationObserver, QueryClient, QueryObserver } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import type { ChatApiClient, Preferences } from "../api/chatApi";
import { chatKeys, savePreferencesMutation } from "./chatQueries";

/** A server whose answers arrive when the test says: each request is a promise the test resolves. */
function slowServer() {
  const gets: ((preferences: Preferences) => void)[] = [];
  const puts: (() => void)[] = [];
  const fetchPreferences = () => new Promise<Preferences>((resolve) => gets.push(resolve));
  const chat = {
    savePreferences: () => new Promise<unknown>((resolve) => puts.push(() => resolve({}))),
  } as unknown as ChatApiClient;
  return { gets, puts, chat, fetchPreferences };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function theme(client: QueryClient) {
  return client.getQueryData<Preferences>(chatKeys.preferences)?.theme;
}

describe("saving the preferences", () => {
  it("keeps the new theme when fetches sent before the save was acknowledged land after it", async () => {
    const client = new QueryClient();
    const server = slowServer();
    client.setQueryData(chatKeys.preferences, { theme: "dark" });
    // A screen mounting refetches the stale preferences: that fetch is in flight when the user switches the theme.
    const screen = new QueryObserver(client, {
      queryKey: chatKeys.preferences,
      queryFn: server.fetchPreferences,
      staleTime: 0,
    });
    const unsubscribe = screen.subscribe(() => undefined);
    expect(server.gets).toHaveLength(1);

    const save = new MutationObserver(client, savePreferencesMutation(server.chat, client));
    void save.mutate({ theme: "light" });
    await settle();
    expect(theme(client)).toBe("light"); // shown at once
    server.gets[0]({ theme: "dark" }); // answered before the save reached the server
    await settle();
    expect(theme(client)).toBe("light");

    void screen.refetch(); // another fetch, answered before the server stores the save
    await settle();
    expect(server.gets).toHaveLength(2);
    server.puts[0](); // the save is acknowledged while that fetch is in flight
    await settle();
    server.gets[1]({ theme: "dark" });
    await settle();
    expect(theme(client)).toBe("light");
    expect(server.gets).toHaveLength(3); // sent again after the acknowledgement
    server.gets[2]({ theme: "light" });
    await settle();
    expect(theme(client)).toBe("light");
    unsubscribe();
  });

  it("does not put an earlier save back over a later one still on its way", async () => {
    const client = new QueryClient();
    const server = slowServer();
    client.setQueryDefaults(chatKeys.preferences, { queryFn: server.fetchPreferences });
    client.setQueryData(chatKeys.preferences, { theme: "light" });
    const first = new MutationObserver(client, savePreferencesMutation(server.chat, client));
    const second = new MutationObserver(client, savePreferencesMutation(server.chat, client));
    void first.mutate({ theme: "dark" });
    await settle();
    void second.mutate({ theme: "light" });
    await settle();
    server.puts[0]();
    await settle();
    expect(theme(client)).toBe("light");
    server.puts[1]();
    await settle();
    expect(theme(client)).toBe("light");
    expect(server.gets).toHaveLength(0);
  });
});
