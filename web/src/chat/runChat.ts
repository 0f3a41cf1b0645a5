/**
 * Sends one chat turn and feeds the answer into the conversation as it arrives: token by token when streaming,
 * all at once otherwise. Stop = abort the signal (the server then cancels the upstream request).
 */
import type { ChatApiClient } from "../api/chatApi";
import type { LisaApiClient, ServeClient } from "../api/clients";
import { describeError } from "../api/errors";
import { asObject, asString, isObject } from "../api/json";
import { readChatStream, usageOf, type Usage } from "../api/sse";
import {
  appendDelta,
  completeTurn,
  failTurn,
  historyBefore,
  setCitations,
  setToolCalls,
  stopTurn,
  type Conversation,
} from "./conversation";
import { buildChatRequest, citationsFromSources } from "./payload";
import { applyToolEvent, settleToolCalls } from "./toolEvents";

export type Update = (change: (conversation: Conversation) => Conversation) => void;

export interface TurnOptions {
  serve: ServeClient;
  api: LisaApiClient;
  chatApi: ChatApiClient;
  conversation: Conversation;
  assistantId: string;
  modelStreams: boolean;
  signal: AbortSignal;
  update: Update;
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof DOMException && error.name === "AbortError");
}

export async function runTurn(options: TurnOptions): Promise<void> {
  const { serve, api, chatApi, conversation, assistantId, modelStreams, signal, update } = options;
  const id = assistantId;
  const toolEvent = (event: Record<string, unknown>) =>
    update((c) => setToolCalls(c, id, (calls, notices) => applyToolEvent(calls, notices, event)));
  const settle = () =>
    update((c) => setToolCalls(c, id, (calls, notices) => ({ calls: settleToolCalls(calls), notices })));
  if (!conversation.model) {
    update((c) => failTurn(c, id, "Choose a model first."));
    return;
  }
  const request = buildChatRequest({
    model: conversation.model,
    systemPrompt: conversation.systemPrompt,
    history: historyBefore(conversation, id),
    parameters: conversation.parameters,
    modelStreams,
    rag: conversation.rag,
  });
  try {
    // Documents (RAG) and tools (MCP) are separate routes of the api; with documents chosen, they answer.
    const response = conversation.rag
      ? await api.ragChat(conversation.rag.repositoryId, request, signal)
      : conversation.mcpServers.length
        ? await chatApi.toolChat(request, conversation.mcpServers, signal)
        : await serve.chat(request, signal);
    if (request.stream && response.body) {
      let finishReason: string | null = null;
      let usage: Usage | null = null;
      let streamError: string | null = null;
      let done = false;
      await readChatStream(response.body, (delta) => {
        if (delta.sources) update((c) => setCitations(c, id, citationsFromSources(delta.sources)));
        if (delta.content) update((c) => appendDelta(c, id, delta.content));
        if (delta.toolEvent) toolEvent(delta.toolEvent);
        if (delta.error) streamError = delta.error;
        finishReason = delta.finishReason ?? finishReason;
        usage = delta.usage ?? usage;
        done ||= delta.done;
      });
      if (streamError) update((c) => failTurn(c, id, streamError!));
      else if (!done && !finishReason)
        update((c) => failTurn(c, id, "The answer was cut off: the stream ended before it finished."));
      else update((c) => completeTurn(c, id, { finishReason, usage }));
    } else {
      const body = asObject(await response.json());
      const choice = asObject(Array.isArray(body.choices) ? body.choices[0] : undefined);
      if (body.sources) update((c) => setCitations(c, id, citationsFromSources(body.sources)));
      if (Array.isArray(body.tool_events)) body.tool_events.filter(isObject).forEach(toolEvent);
      update((c) => appendDelta(c, id, asString(asObject(choice.message).content) ?? ""));
      const finishReason = asString(choice.finish_reason) ?? null;
      update((c) => completeTurn(c, id, { finishReason, usage: usageOf(body.usage) }));
    }
  } catch (error) {
    if (isAbort(error, signal)) update((c) => stopTurn(c, id));
    else update((c) => failTurn(c, id, describeError(error)));
  } finally {
    settle();
  }
}
