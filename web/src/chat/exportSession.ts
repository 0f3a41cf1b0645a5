/** A conversation as a Markdown transcript or as JSON, for download. */
import type { Conversation } from "./conversation";

const ROLE_NAMES = { system: "System", user: "You", assistant: "Assistant" } as const;

export function toMarkdown(conversation: Conversation): string {
  const lines = [`# ${conversation.title || "Untitled chat"}`, ""];
  if (conversation.model) lines.push(`Model: ${conversation.model}  `);
  lines.push(`Created: ${conversation.createdAt}  `, `Updated: ${conversation.updatedAt}`, "");
  if (conversation.systemPrompt.trim()) lines.push("## System prompt", "", conversation.systemPrompt.trim(), "");
  for (const message of conversation.messages) {
    const who =
      message.role === "assistant" && message.metadata.model
        ? `Assistant (${message.metadata.model})`
        : ROLE_NAMES[message.role];
    lines.push(`## ${who}`, "");
    if (message.metadata.error) lines.push(`> Error: ${message.metadata.error}`, "");
    if (message.content) lines.push(message.content, "");
    if (message.metadata.stopped) lines.push("_(stopped)_", "");
    const citations = message.metadata.citations ?? [];
    if (citations.length) {
      lines.push("Sources:", "");
      for (const c of citations) lines.push(`- ${c.documentName}${c.page != null ? `, page ${c.page}` : ""}`);
      lines.push("");
    }
  }
  return lines.join("\n").trimEnd() + "\n";
}

export function toJson(conversation: Conversation): string {
  const { sessionId, title, model, systemPrompt, parameters, rag, createdAt, updatedAt } = conversation;
  const messages = conversation.messages.map(({ role, content, metadata }) => {
    const { pending: _pending, ...meta } = metadata;
    return { role, content, metadata: meta };
  });
  return (
    JSON.stringify(
      { sessionId, title, model, systemPrompt, parameters, rag, createdAt, updatedAt, messages },
      null,
      2,
    ) + "\n"
  );
}

/** The export menu's formats: its item, the file's extension, its text and its media type. */
export const EXPORT_FORMATS = [
  { label: "Markdown", extension: "md", render: toMarkdown, mediaType: "text/markdown" },
  { label: "JSON", extension: "json", render: toJson, mediaType: "application/json" },
] as const;

/** A file name from the title: letters, digits and dashes. */
export function exportFileName(conversation: Conversation, extension: "md" | "json"): string {
  const base =
    (conversation.title || "chat")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 50) || "chat";
  return `${base}.${extension}`;
}
