import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Navigate, useLocation, useNavigate, useParams, useSearchParams } from "react-router";
import type { DocumentText } from "../api/chatApi";
import { useConfiguration, usePreferences } from "../app/chatQueries";
import { useServices } from "../app/services";
import { ApiError, describeError } from "../api/errors";
import { fromApiSession, toPutSession } from "../sessions/sessionRecords";
import { saveQueue } from "../sessions/saveQueue";
import { SessionSidebar } from "../sessions/SessionSidebar";
import { useSessions } from "../sessions/useSessions";
import { downloadText } from "../ui/download";
import { Menu } from "../ui/Menu";
import { ModelPicker } from "../ui/ModelPicker";
import { ChatSettings } from "./ChatSettings";
import { Composer } from "./Composer";
import {
  beginTurn,
  editAndResend,
  forSaving,
  isStreaming,
  newConversation,
  regenerate,
  rename,
  tokensUsed,
  type Attachment,
  type Conversation,
  type Turn,
} from "./conversation";
import { EXPORT_FORMATS, exportFileName } from "./exportSession";
import { isCreatedHere, newSessionId } from "./ids";
import { MessageView } from "./MessageView";
import { chatModels, chooseModel, embeddingModels } from "./models";
import { useModels } from "./useModels";
import { defaultsOf, parameterProblems, ragProblems, withDefaults } from "./payload";
import { runTurn, type Update } from "./runChat";
import { TemplatePicker } from "./TemplatePicker";
import { insertDirective } from "./templates";
import { ToolPicker } from "./ToolPicker";

const LAST_MODEL_KEY = "lisa.lastModel";
export const SUMMARISE_PROMPT = "Summarise this document.";

/** What the documents page hands the chat for "Summarise": the document's text, ready to attach. */
export interface SummariseRequest {
  summarise: DocumentText;
}

export function documentAttachment(text: DocumentText): Attachment {
  return {
    kind: "document",
    name: text.fileName,
    text: text.text,
    chars: text.chars,
    totalChars: text.totalChars,
    truncated: text.truncated,
    notice: text.notice ?? null,
  };
}

function readDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === "string" ? reader.result : "");
    reader.onerror = () => reject(new Error(`${file.name} could not be read`));
    reader.readAsDataURL(file);
  });
}

function freshConversation(sessionId: string, search: URLSearchParams, defaultModel?: string | null): Conversation {
  const c = newConversation(sessionId);
  c.model = defaultModel ?? localStorage.getItem(LAST_MODEL_KEY);
  const repositoryId = search.get("rag");
  if (repositoryId) c.rag = { repositoryId, embeddingModel: search.get("embeddingModel") ?? "", topK: 3 };
  return c;
}

/** `/` and `/chat` open a new session with a fresh id (keeping `?rag=` presets). */
export function NewChatRedirect() {
  const location = useLocation();
  const id = useMemo(() => newSessionId(), []);
  return <Navigate to={`/chat/${id}${location.search}`} replace />;
}

export function ChatPage() {
  const { sessionId = "" } = useParams();
  // The sidebar's search outlives the session on screen, which starts afresh (key) when the URL names another.
  const [sidebarSearch, setSidebarSearch] = useState("");
  return (
    <ChatSession
      key={sessionId}
      sessionId={sessionId}
      sidebarSearch={sidebarSearch}
      onSidebarSearch={setSidebarSearch}
    />
  );
}

function ChatSession(props: { sessionId: string; sidebarSearch: string; onSidebarSearch: (query: string) => void }) {
  const { sessionId } = props;
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const { api, serve, chat } = useServices();
  const location = useLocation();
  const { models, loaded: modelsLoaded, error: modelsError, refresh: refreshModels } = useModels();
  const sessions = useSessions();
  const configuration = useConfiguration();
  const { preferences, save: savePreferences } = usePreferences();
  // A session this page just created starts empty without asking the api; any other is read from it.
  const [conversation, setConversationState] = useState<Conversation | null>(() =>
    isCreatedHere(sessionId) && !sessions.sessions.some((s) => s.sessionId === sessionId)
      ? freshConversation(sessionId, search)
      : null,
  );
  const ref = useRef<Conversation | null>(conversation);
  const abortRef = useRef<AbortController | null>(null);
  const saveTimer = useRef<number | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [showSettings, setShowSettings] = useState(false);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [status, setStatus] = useState("");
  const [draft, setDraft] = useState("");
  const [attachments, setAttachments] = useState<Attachment[]>(() => {
    const handed = (location.state as SummariseRequest | null)?.summarise;
    return handed ? [documentAttachment(handed)] : [];
  });
  const [attaching, setAttaching] = useState(false);
  const [templatesOpen, setTemplatesOpen] = useState(false);
  const [conflict, setConflict] = useState(false);
  const summarisePending = useRef(Boolean((location.state as SummariseRequest | null)?.summarise));
  const bottom = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);

  const offered = useMemo(() => chatModels(models), [models]);
  const embedders = useMemo(() => embeddingModels(models), [models]);
  const streaming = conversation ? isStreaming(conversation) : false;

  const replace = useCallback((next: Conversation | null) => {
    ref.current = next;
    setConversationState(next);
  }, []);
  const apply = useCallback(
    (change: (c: Conversation) => Conversation) => {
      if (ref.current) replace(change(ref.current));
    },
    [replace],
  );

  const setVersion = useCallback(
    (id: string, version: number) => {
      if (ref.current?.sessionId === id) apply((c) => ({ ...c, version }));
    },
    [apply],
  );

  /**
   * Saves the session based on the version this page last read or saved; another tab's newer save is not
   * overwritten unasked. Saves go one at a time, so a question asked while the last answer is still being saved is
   * based on the version that save made, not refused as another tab's change.
   */
  const saves = useRef(saveQueue());
  const save = useCallback(
    (c: Conversation, overwrite = false) =>
      saves.current.run(async () => {
        if (!c.messages.length) return;
        const version = ref.current?.sessionId === c.sessionId ? ref.current.version : c.version;
        try {
          const body = toPutSession(forSaving({ ...c, version }));
          const saved = await api.putSession(c.sessionId, overwrite ? { ...body, version: null } : body);
          setVersion(c.sessionId, saved.version);
          setConflict(false);
          sessions.saved({ ...c, version: saved.version });
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) setConflict(true);
          else setNotice(`The session could not be saved: ${describeError(e)}`);
        }
      }),
    [api, sessions, setVersion],
  );

  // Open the session the URL names; an id the api does not know is a new, empty session.
  useEffect(() => {
    void refreshModels();
    if (ref.current) return;
    const controller = new AbortController();
    api
      .getSession(sessionId, controller.signal)
      .then((session) => replace(fromApiSession(session)))
      .catch((error) => {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status === 404) replace(freshConversation(sessionId, search));
        else setLoadError(describeError(error));
      });
    return () => controller.abort();
  }, [sessionId, search, api, replace, refreshModels]);

  // A new session starts from the user's default parameters (their preferences), once those are known.
  const defaultsApplied = useRef(false);
  useEffect(() => {
    if (defaultsApplied.current || !preferences || !conversation || conversation.messages.length) return;
    defaultsApplied.current = true;
    const defaults = preferences.defaultParameters;
    if (defaults) apply((c) => ({ ...c, parameters: withDefaults(c.parameters, defaults) }));
  }, [conversation, preferences, apply]);

  // A new session takes the last used model if still offered, else the first one.
  useEffect(() => {
    if (!conversation || conversation.messages.length || !modelsLoaded) return;
    const model = chooseModel(offered, conversation.model ?? preferences?.defaultModel ?? null);
    if (model !== conversation.model) apply((c) => ({ ...c, model }));
  }, [conversation, offered, modelsLoaded, apply, preferences]);

  // RAG preset from the documents page: fill the embedding model once the list is known.
  useEffect(() => {
    if (conversation?.rag && !conversation.rag.embeddingModel && embedders.length) {
      apply((c) => (c.rag ? { ...c, rag: { ...c.rag, embeddingModel: embedders[0].id } } : c));
    }
  }, [conversation, embedders, apply]);

  const stop = useCallback(() => abortRef.current?.abort(), []);

  useEffect(() => {
    if (!streaming) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && stop();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [streaming, stop]);

  // Keep the newest text in view while it streams, unless the user scrolled up to read.
  useEffect(() => {
    const el = list.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 160) bottom.current?.scrollIntoView({ block: "end" });
  }, [conversation]);

  useEffect(() => () => abortRef.current?.abort(), []);

  function modelStreams(model: string | null): boolean {
    return models.find((m) => m.id === model)?.streaming ?? true;
  }

  function startTurn(turn: Turn | null): boolean {
    if (!turn) return false;
    const c = turn.conversation;
    const problems = [
      ...(c.model ? [] : ["Choose a model first."]),
      ...parameterProblems(c.parameters),
      ...ragProblems(c.rag),
    ];
    if (problems.length) {
      setNotice(problems.join(" "));
      setShowSettings(problems.some((p) => !p.startsWith("Choose a model")));
      return false;
    }
    setNotice(null);
    setStatus("Writing the answer…");
    replace(c);
    if (c.model) localStorage.setItem(LAST_MODEL_KEY, c.model);
    if (c.model && preferences?.defaultModel !== c.model) savePreferences({ defaultModel: c.model });
    const controller = new AbortController();
    abortRef.current = controller;
    const sid = c.sessionId;
    let latest = c;
    const update: Update = (change) => {
      if (ref.current?.sessionId === sid) {
        apply(change);
        latest = ref.current;
      } else {
        latest = change(latest);
      }
    };
    void runTurn({
      serve,
      api,
      chatApi: chat,
      conversation: c,
      assistantId: turn.assistantId,
      modelStreams: modelStreams(c.model),
      signal: controller.signal,
      update,
    }).then(async () => {
      if (abortRef.current === controller) abortRef.current = null;
      setStatus("Answer complete.");
      await save(latest);
    });
    return true;
  }

  function changeSettings(change: Partial<Conversation>) {
    apply((c) => ({ ...c, ...change }));
    if (saveTimer.current) window.clearTimeout(saveTimer.current);
    saveTimer.current = window.setTimeout(() => {
      const c = ref.current;
      if (c && c.messages.length && !isStreaming(c)) void save(c);
    }, 800);
  }

  function send(text: string = draft): boolean {
    if (!ref.current) return false;
    const started = startTurn(beginTurn(ref.current, text, new Date(), attachments));
    if (started) {
      setDraft("");
      setAttachments([]);
    }
    return started;
  }

  // "Summarise" from the documents page: the document arrives attached; it is sent once a model is chosen.
  useEffect(() => {
    if (summarisePending.current && conversation?.model && !isStreaming(conversation)) {
      summarisePending.current = false;
      send(SUMMARISE_PROMPT);
    }
  });

  async function attach(files: File[]) {
    setAttaching(true);
    try {
      for (const file of files) {
        if (file.type.startsWith("image/")) {
          const url = await readDataUrl(file);
          const stored = await chat.attachImage(sessionId, url);
          setAttachments((list) => [...list, { kind: "image", name: file.name, url, s3Key: stored.s3_key as string }]);
        } else {
          const text = await chat.documentText(file, ref.current?.model ?? null);
          setAttachments((list) => [...list, documentAttachment(text)]);
        }
      }
    } catch (e) {
      setNotice(`The file could not be attached: ${describeError(e)}`);
    } finally {
      setAttaching(false);
    }
  }

  function summarise(index: number) {
    const chosen = attachments[index];
    if (!ref.current || !chosen) return;
    if (startTurn(beginTurn(ref.current, SUMMARISE_PROMPT, new Date(), [chosen])))
      setAttachments((list) => list.filter((_, i) => i !== index));
  }

  async function giveFeedback(messageId: string, rating: "up" | "down" | null, comment: string) {
    const c = ref.current;
    if (!c) return;
    try {
      if (rating) await chat.giveFeedback(c.sessionId, { messageId, rating, comment });
      else await chat.withdrawFeedback(c.sessionId, messageId);
      apply((x) => {
        const feedback = { ...x.feedback };
        if (rating) feedback[messageId] = { rating, comment };
        else delete feedback[messageId];
        return { ...x, feedback };
      });
    } catch (e) {
      setNotice(`The feedback could not be saved: ${describeError(e)}`);
    }
  }

  async function reloadSession() {
    try {
      replace(fromApiSession(await api.getSession(sessionId)));
      setConflict(false);
    } catch (e) {
      setNotice(`The session could not be read again: ${describeError(e)}`);
    }
  }

  async function renameSession(id: string, name: string) {
    try {
      if (sessions.sessions.some((s) => s.sessionId === id)) {
        const saved = await api.renameSession(id, name);
        setVersion(id, saved.version);
      }
      sessions.renamed(id, name);
      if (ref.current?.sessionId === id) apply((c) => rename(c, name));
    } catch (e) {
      setNotice(`Could not rename the session: ${describeError(e)}`);
    }
  }

  async function deleteSession(id: string) {
    try {
      await api.deleteSession(id);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) {
        setNotice(`Could not delete the session: ${describeError(e)}`);
        return;
      }
    }
    sessions.removed(id);
    if (id === sessionId) void navigate(`/chat/${newSessionId()}`);
  }

  const lastAssistant = conversation ? conversation.messages.map((m) => m.role).lastIndexOf("assistant") : -1;
  const current = conversation?.model ?? "";

  return (
    <div className="chat-layout">
      <SessionSidebar
        currentId={sessionId}
        open={sidebarOpen}
        onClose={() => setSidebarOpen(false)}
        onRename={renameSession}
        onDelete={deleteSession}
        onVersion={setVersion}
        onDeletedAll={() => void navigate(`/chat/${newSessionId()}`)}
        search={props.sidebarSearch}
        onSearch={props.onSidebarSearch}
      />
      <section className="chat" aria-labelledby="chat-title" data-session-id={sessionId}>
        <div className="chat-toolbar">
          <button type="button" className="mobile-only" onClick={() => setSidebarOpen(true)} aria-label="Show sessions">
            ☰
          </button>
          <h1 id="chat-title" className="chat-title" data-testid="chat-title">
            {conversation?.title || "New chat"}
          </h1>
          <ModelPicker
            label="Model"
            inline
            models={offered}
            value={current}
            loaded={modelsLoaded}
            empty="No models available"
            disabled={!conversation || streaming}
            onFocus={() => void refreshModels()}
            onChange={(model) => {
              localStorage.setItem(LAST_MODEL_KEY, model);
              changeSettings({ model });
            }}
          />
          {configuration.enabled("mcpConnections") ? (
            <ToolPicker
              selected={conversation?.mcpServers ?? []}
              disabled={!conversation || streaming}
              onChange={(mcpServers) => changeSettings({ mcpServers })}
            />
          ) : null}
          {configuration.enabled("showPromptTemplateLibrary") ? (
            <button type="button" disabled={!conversation || streaming} onClick={() => setTemplatesOpen(true)}>
              Templates
            </button>
          ) : null}
          <button
            type="button"
            aria-expanded={showSettings}
            aria-controls="chat-settings"
            onClick={() => setShowSettings((s) => !s)}
          >
            Settings
          </button>
          {conversation && tokensUsed(conversation) ? (
            <span className="muted small-text" data-testid="session-tokens" title="tokens used in this session">
              {tokensUsed(conversation).toLocaleString()} tokens
            </span>
          ) : null}
          <Menu label="Export" ariaLabel="Export this session">
            {EXPORT_FORMATS.map((format) => (
              <button
                key={format.extension}
                type="button"
                role="menuitem"
                disabled={!conversation?.messages.length}
                onClick={() =>
                  conversation &&
                  downloadText(
                    exportFileName(conversation, format.extension),
                    format.render(conversation),
                    format.mediaType,
                  )
                }
              >
                {format.label}
              </button>
            ))}
          </Menu>
        </div>
        {showSettings && conversation ? (
          <div id="chat-settings">
            <ChatSettings
              conversation={conversation}
              modelStreams={modelStreams(conversation.model)}
              onChange={changeSettings}
              editParameters={configuration.enabled("editKwargs")}
              onSaveDefaults={() => {
                savePreferences({ defaultParameters: defaultsOf(conversation.parameters) });
                setNotice("New chats start with these parameters.");
              }}
            />
          </div>
        ) : null}
        {modelsError ? (
          <p className="error-box" role="alert">
            Models could not be listed: {modelsError}
          </p>
        ) : null}
        {modelsLoaded && !offered.length && !modelsError ? (
          <p className="notice">No chat models are available yet. An administrator can add one on the Models page.</p>
        ) : null}
        {loadError ? (
          <p className="error-box" role="alert">
            This session could not be opened: {loadError}
          </p>
        ) : null}
        {notice ? (
          <p className="notice" role="status" data-testid="notice">
            {notice}
          </p>
        ) : null}
        {conflict ? (
          <div className="notice row" role="alert" data-testid="save-conflict">
            <span>This session was changed in another tab or window, so your last change was not saved.</span>
            <button type="button" className="small" onClick={() => void reloadSession()}>
              Load the newer one
            </button>
            <button type="button" className="small" onClick={() => ref.current && void save(ref.current, true)}>
              Keep mine
            </button>
          </div>
        ) : null}
        {conversation?.rag ? (
          <p className="rag-badge">
            Answering from <strong>{conversation.rag.repositoryId}</strong> with{" "}
            {conversation.rag.embeddingModel || "no embedding model"}
          </p>
        ) : null}
        <div className="messages" ref={list} role="log" aria-label="Conversation" aria-busy={streaming}>
          {!conversation && !loadError ? <p className="muted">Loading…</p> : null}
          {conversation && !conversation.messages.length ? (
            <p className="muted empty-chat">Ask a question to start.</p>
          ) : null}
          {conversation?.messages.map((m, i) => (
            <MessageView
              key={m.id}
              message={m}
              isLastAnswer={i === lastAssistant}
              busy={streaming}
              onRegenerate={() => ref.current && startTurn(regenerate(ref.current))}
              onEdit={(text) => ref.current && startTurn(editAndResend(ref.current, m.id, text))}
              feedback={conversation.feedback[m.id]}
              onFeedback={
                sessions.sessions.some((s) => s.sessionId === sessionId)
                  ? (rating, comment) => void giveFeedback(m.id, rating, comment)
                  : undefined
              }
            />
          ))}
          <div ref={bottom} />
        </div>
        <p className="sr-only" role="status">
          {status}
        </p>
        <Composer
          text={draft}
          onTextChange={setDraft}
          streaming={streaming}
          disabled={!conversation}
          onStop={stop}
          onSend={() => send()}
          attachments={attachments}
          attaching={attaching}
          canAttach={configuration.enabled("uploadContextDocs")}
          onAttach={(files) => void attach(files)}
          onRemoveAttachment={(index) => setAttachments((list) => list.filter((_, i) => i !== index))}
          onSummarise={summarise}
          canSummarise={configuration.enabled("documentSummarization")}
        />
        <TemplatePicker
          open={templatesOpen}
          onClose={() => setTemplatesOpen(false)}
          onPersona={(text) => {
            changeSettings({ systemPrompt: text });
            setNotice("The persona is now this chat's system prompt (see Settings).");
          }}
          onDirective={(text) => setDraft((d) => insertDirective(d, text))}
        />
      </section>
    </div>
  );
}
