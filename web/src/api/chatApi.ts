/**
 * The api's chat features (services/api): MCP connections and chat with tools, prompt templates, projects,
 * preferences, the admin configuration, feedback, and files in the conversation. Shapes come from schema.d.ts.
 */
import type { HttpClient } from "./http";
import type { ChatRequest } from "./openai";
import type { AnswerOf, BodyOf } from "./wire";

export type McpServer = AnswerOf<"/mcp-server/{serverId}", "get">;
export type McpServerRequest = BodyOf<"/mcp-server", "post">;
export type McpServerUpdate = BodyOf<"/mcp-server/{serverId}", "put">;
export type McpTestResult = AnswerOf<"/mcp-server/test", "post">;
export type PromptTemplate = AnswerOf<"/prompt-templates/{promptTemplateId}", "get">;
export type PromptTemplateRequest = BodyOf<"/prompt-templates", "post">;
export type Project = AnswerOf<"/project", "post">;
export type Preferences = AnswerOf<"/user-preferences", "get">["preferences"];
export type ConfigurationItem = AnswerOf<"/configuration", "get">[number];
export type Configuration = ConfigurationItem["configuration"];
export type Feedback = AnswerOf<"/feedback", "get">["items"][number];
export type DocumentText = AnswerOf<"/chat/attachments", "post">;
export type AttachedImage = AnswerOf<"/session/{sessionId}/attachImage", "put">["body"];

const enc = encodeURIComponent;

export class ChatApiClient {
  constructor(readonly http: HttpClient) {}

  // MCP connections and chat with tools
  async mcpServers(signal?: AbortSignal): Promise<McpServer[]> {
    return (await this.http.json<AnswerOf<"/mcp-server", "get">>("/mcp-server", { signal })).Items;
  }
  createMcpServer(body: McpServerRequest): Promise<McpServer> {
    return this.http.json("/mcp-server", { method: "POST", body });
  }
  updateMcpServer(id: string, body: McpServerUpdate): Promise<McpServer> {
    return this.http.json(`/mcp-server/${enc(id)}`, { method: "PUT", body });
  }
  deleteMcpServer(id: string): Promise<unknown> {
    return this.http.json(`/mcp-server/${enc(id)}`, { method: "DELETE" });
  }
  testMcpServer(id: string): Promise<McpTestResult> {
    return this.http.json(`/mcp-server/${enc(id)}/test`, { method: "POST" });
  }
  testMcpDraft(body: McpServerRequest): Promise<McpTestResult> {
    return this.http.json("/mcp-server/test", { method: "POST", body });
  }
  /** POST /mcp/chat/completions: the chat body plus the connections whose tools the model may call. */
  toolChat(request: ChatRequest, mcpServers: string[], signal?: AbortSignal): Promise<Response> {
    return this.http.send("/mcp/chat/completions", { body: { ...request, mcpServers }, signal });
  }
  decideApproval(approvalId: string, approve: boolean): Promise<AnswerOf<"/mcp/approvals/{approvalId}", "post">> {
    return this.http.json(`/mcp/approvals/${enc(approvalId)}`, { method: "POST", body: { approve } });
  }

  // Prompt templates
  async templates(shared: boolean, q = "", signal?: AbortSignal): Promise<PromptTemplate[]> {
    const answer = await this.http.json<AnswerOf<"/prompt-templates", "get">>("/prompt-templates", {
      query: { public: shared, q },
      signal,
    });
    return answer.Items;
  }
  createTemplate(body: PromptTemplateRequest): Promise<PromptTemplate> {
    return this.http.json("/prompt-templates", { method: "POST", body });
  }
  updateTemplate(id: string, body: BodyOf<"/prompt-templates/{promptTemplateId}", "put">): Promise<PromptTemplate> {
    return this.http.json(`/prompt-templates/${enc(id)}`, { method: "PUT", body });
  }
  deleteTemplate(id: string): Promise<unknown> {
    return this.http.json(`/prompt-templates/${enc(id)}`, { method: "DELETE" });
  }

  // Projects and session organisation
  async projects(signal?: AbortSignal): Promise<Project[]> {
    return (await this.http.json<Project[]>("/project", { signal })) ?? [];
  }
  createProject(name: string): Promise<Project> {
    return this.http.json("/project", { method: "POST", body: { name } });
  }
  renameProject(id: string, name: string): Promise<unknown> {
    return this.http.json(`/project/${enc(id)}`, { method: "PUT", body: { name } });
  }
  deleteProject(id: string, deleteSessions: boolean): Promise<unknown> {
    return this.http.json(`/project/${enc(id)}`, { method: "DELETE", query: { deleteSessions } });
  }
  moveSession(sessionId: string, projectId: string | null, from: string | null): Promise<unknown> {
    const project = projectId ?? from ?? "none";
    return this.http.json(`/project/${enc(project)}/session/${enc(sessionId)}`, {
      method: "PUT",
      body: { unassign: projectId === null },
    });
  }
  pinSession(sessionId: string, pinned: boolean): Promise<unknown> {
    return this.http.json(`/session/${enc(sessionId)}/pin`, { method: "PUT", body: { pinned } });
  }
  deleteAllSessions(): Promise<AnswerOf<"/session", "delete">> {
    return this.http.json("/session", { method: "DELETE" });
  }

  // Preferences and configuration
  async preferences(signal?: AbortSignal): Promise<Preferences> {
    return (await this.http.json<AnswerOf<"/user-preferences", "get">>("/user-preferences", { signal })).preferences;
  }
  savePreferences(preferences: Preferences): Promise<unknown> {
    return this.http.json("/user-preferences", { method: "PUT", body: { preferences } });
  }
  async configuration(signal?: AbortSignal): Promise<ConfigurationItem> {
    const items = await this.http.json<ConfigurationItem[]>("/configuration", {
      query: { configScope: "global" },
      signal,
    });
    return items[0];
  }
  saveConfiguration(body: BodyOf<"/configuration/{configScope}", "put">): Promise<unknown> {
    return this.http.json("/configuration/global", { method: "PUT", body });
  }

  // Feedback
  giveFeedback(sessionId: string, body: BodyOf<"/session/{sessionId}/feedback", "put">): Promise<Feedback> {
    return this.http.json(`/session/${enc(sessionId)}/feedback`, { method: "PUT", body });
  }
  withdrawFeedback(sessionId: string, messageId: string): Promise<unknown> {
    return this.http.json(`/session/${enc(sessionId)}/feedback/${enc(messageId)}`, { method: "DELETE" });
  }
  async feedback(days: number, signal?: AbortSignal): Promise<Feedback[]> {
    return (await this.http.json<AnswerOf<"/feedback", "get">>("/feedback", { query: { days }, signal })).items;
  }

  // Files in the conversation
  documentText(file: File, model: string | null, signal?: AbortSignal): Promise<DocumentText> {
    const form = new FormData();
    form.append("file", file, file.name);
    if (model) form.append("model", model);
    return this.http.upload("/chat/attachments", form, signal);
  }
  repositoryDocumentText(repositoryId: string, documentId: string, model: string | null): Promise<DocumentText> {
    return this.http.json(`/repository/${enc(repositoryId)}/${enc(documentId)}/text`, { query: { model } });
  }
  /** An image kept with a session, as a blob (pages load images only from themselves: see the CSP). */
  async image(s3Key: string, signal?: AbortSignal): Promise<Blob> {
    const [, , sessionId, name] = s3Key.split("/");
    const response = await this.http.send(`/session/${enc(sessionId)}/images/${enc(name)}`, { signal });
    return response.blob();
  }
  async attachImage(sessionId: string, dataUrl: string): Promise<AttachedImage> {
    const answer = await this.http.json<AnswerOf<"/session/{sessionId}/attachImage", "put">>(
      `/session/${enc(sessionId)}/attachImage`,
      { method: "PUT", body: { message: { type: "image_url", image_url: { url: dataUrl } } } },
    );
    return answer.body;
  }
}
