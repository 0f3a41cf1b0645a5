import { useRef, useState } from "react";
import { useNavigate } from "react-router";
import { describeError } from "../api/errors";
import { readChatStream, usageOf, type Usage } from "../api/sse";
import { asObject, asString } from "../api/json";
import { useServices } from "../app/services";
import { DEFAULT_PARAMETERS, newConversation, titleFrom, type ChatMessage } from "../chat/conversation";
import { newSessionId } from "../chat/ids";
import { chatModels } from "../chat/models";
import { buildChatRequest } from "../chat/payload";
import { useModels } from "../chat/useModels";
import { toPutSession } from "../sessions/sessionRecords";
import { useSessions } from "../sessions/useSessions";
import { ModelPicker } from "../ui/ModelPicker";
import { MAX_COLUMNS, MIN_COLUMNS, metrics, type Timing } from "./metrics";

interface Column {
  model: string;
  temperature: number | null;
  maxTokens: number | null;
  text: string;
  error: string | null;
  running: boolean;
  timing: Timing | null;
  usage: Usage | null;
}

const EMPTY: Column = {
  model: "",
  temperature: 0.7,
  maxTokens: null,
  text: "",
  error: null,
  running: false,
  timing: null,
  usage: null,
};

/** One prompt to 2–4 models side by side, streamed in parallel, each with its own parameters and figures. */
export function ComparePage() {
  const { serve, api } = useServices();
  const navigate = useNavigate();
  const sessions = useSessions();
  const { models, loaded } = useModels();
  const offered = chatModels(models);
  const [columns, setColumns] = useState<Column[]>([{ ...EMPTY }, { ...EMPTY }]);
  const [prompt, setPrompt] = useState("");
  const [asked, setAsked] = useState("");
  const [error, setError] = useState<string | null>(null);
  const controllers = useRef<AbortController[]>([]);
  const running = columns.some((c) => c.running);
  const modelOf = (c: Column, i: number) => c.model || offered[i % Math.max(offered.length, 1)]?.id || "";

  const update = (index: number, change: Partial<Column>) =>
    setColumns((list) => list.map((c, i) => (i === index ? { ...c, ...change } : c)));

  async function runColumn(index: number, column: Column, question: string, signal: AbortSignal) {
    const model = modelOf(column, index);
    const timing: Timing = { startedAt: performance.now(), firstTokenAt: null, endedAt: null };
    update(index, { model, text: "", error: null, running: true, timing, usage: null });
    const history: ChatMessage[] = [{ id: "q", role: "user", content: question, metadata: {} }];
    const parameters = { ...DEFAULT_PARAMETERS, temperature: column.temperature, maxTokens: column.maxTokens };
    try {
      const request = buildChatRequest({ model, systemPrompt: "", history, parameters, modelStreams: true });
      const response = await serve.chat(request, signal);
      let usage: Usage | null = null;
      if (response.body && request.stream) {
        await readChatStream(response.body, (delta) => {
          if (delta.content) {
            if (timing.firstTokenAt === null) timing.firstTokenAt = performance.now();
            setColumns((list) =>
              list.map((c, i) => (i === index ? { ...c, text: c.text + delta.content, timing: { ...timing } } : c)),
            );
          }
          if (delta.error) update(index, { error: delta.error });
          usage = delta.usage ?? usage;
        });
      } else {
        const body = asObject(await response.json());
        const choice = asObject(Array.isArray(body.choices) ? body.choices[0] : undefined);
        timing.firstTokenAt = performance.now();
        update(index, { text: asString(asObject(choice.message).content) ?? "" });
        usage = usageOf(body.usage);
      }
      timing.endedAt = performance.now();
      update(index, { running: false, timing: { ...timing }, usage });
    } catch (e) {
      timing.endedAt = performance.now();
      update(index, { running: false, timing: { ...timing }, error: signal.aborted ? "Stopped." : describeError(e) });
    }
  }

  function compare() {
    const question = prompt.trim();
    if (!question || running) return;
    setAsked(question);
    controllers.current = columns.map(() => new AbortController());
    columns.forEach((c, i) => void runColumn(i, c, question, controllers.current[i].signal));
  }

  async function continueWith(index: number) {
    const column = columns[index];
    const conversation = newConversation(newSessionId());
    const model = modelOf(column, index);
    conversation.model = model;
    conversation.title = titleFrom(asked);
    conversation.parameters = { ...DEFAULT_PARAMETERS, temperature: column.temperature, maxTokens: column.maxTokens };
    conversation.messages = [
      { id: newSessionId(), role: "user", content: asked, metadata: {} },
      { id: newSessionId(), role: "assistant", content: column.text, metadata: { model, usage: column.usage } },
    ];
    try {
      const saved = await api.putSession(conversation.sessionId, toPutSession(conversation));
      sessions.saved({ ...conversation, version: saved.version });
      void navigate(`/chat/${conversation.sessionId}`);
    } catch (e) {
      setError(`The session could not be created: ${describeError(e)}`);
    }
  }

  return (
    <section className="page compare" aria-labelledby="compare-title">
      <h1 id="compare-title">Compare models</h1>
      {error ? (
        <p className="error-box" role="alert">
          {error}
        </p>
      ) : null}
      <form
        className="compare-prompt"
        onSubmit={(e) => {
          e.preventDefault();
          compare();
        }}
      >
        <label htmlFor="compare-input">Prompt</label>
        <textarea id="compare-input" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        <div className="row">
          <button type="submit" className="primary" disabled={!prompt.trim() || running || !offered.length}>
            Compare
          </button>
          {running ? (
            <button type="button" className="danger" onClick={() => controllers.current.forEach((c) => c.abort())}>
              Stop
            </button>
          ) : null}
          <button
            type="button"
            disabled={running || columns.length >= MAX_COLUMNS}
            onClick={() => setColumns((list) => [...list, { ...EMPTY }])}
          >
            Add a model
          </button>
        </div>
      </form>
      <div className="compare-columns" style={{ gridTemplateColumns: `repeat(${columns.length}, minmax(0, 1fr))` }}>
        {columns.map((column, i) => {
          const figures = column.timing ? metrics(column.timing, column.usage) : null;
          return (
            <article
              key={i}
              className="card compare-column"
              aria-label={`Column ${i + 1}`}
              data-testid="compare-column"
            >
              <div className="row between">
                <ModelPicker
                  label={`Model ${i + 1}`}
                  models={offered}
                  value={modelOf(column, i)}
                  loaded={loaded}
                  empty="No models available"
                  disabled={running}
                  onChange={(model) => update(i, { model })}
                />
                {columns.length > MIN_COLUMNS ? (
                  <button
                    type="button"
                    className="small"
                    aria-label={`Remove model ${i + 1}`}
                    disabled={running}
                    onClick={() => setColumns((list) => list.filter((_, j) => j !== i))}
                  >
                    ✕
                  </button>
                ) : null}
              </div>
              <div className="row">
                <label>
                  Temperature
                  <input
                    type="number"
                    min={0}
                    max={2}
                    step={0.1}
                    value={column.temperature ?? ""}
                    onChange={(e) => update(i, { temperature: e.target.value === "" ? null : Number(e.target.value) })}
                  />
                </label>
                <label>
                  Max tokens
                  <input
                    type="number"
                    min={1}
                    placeholder="default"
                    value={column.maxTokens ?? ""}
                    onChange={(e) => update(i, { maxTokens: e.target.value === "" ? null : Number(e.target.value) })}
                  />
                </label>
              </div>
              <div
                className="compare-answer"
                aria-live="polite"
                aria-busy={column.running}
                data-testid="compare-answer"
              >
                {column.text || (column.running ? "…" : "")}
              </div>
              {column.error ? (
                <p className="error-box" role="alert">
                  {column.error}
                </p>
              ) : null}
              {figures ? (
                <dl className="compare-figures" data-testid="compare-figures">
                  <dt>First token</dt>
                  <dd>{figures.ttftMs === null ? "–" : `${figures.ttftMs} ms`}</dd>
                  <dt>Speed</dt>
                  <dd>{figures.tokensPerSecond === null ? "–" : `${figures.tokensPerSecond} tokens/s`}</dd>
                  <dt>Tokens</dt>
                  <dd>
                    {figures.usage
                      ? `${figures.usage.prompt_tokens} in, ${figures.usage.completion_tokens} out`
                      : "not reported"}
                  </dd>
                </dl>
              ) : null}
              {column.text && !column.running ? (
                <button type="button" className="primary" onClick={() => void continueWith(i)}>
                  Continue with this one
                </button>
              ) : null}
            </article>
          );
        })}
      </div>
    </section>
  );
}
