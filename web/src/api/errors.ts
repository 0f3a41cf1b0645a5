/**
 * One error type for every HTTP call the UI makes, with the message the server wrote.
 * Serve answers OpenAI's `{"error":{"message","type","param","code"}}`; the api answers LISA's
 * `{"error": "...", "message": "..."}`; a framework may answer `{"detail": ...}`.
 */
import { asString, isObject, parseJson } from "./json";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string | null = null,
    readonly code: string | null = null,
    /** Individual problems when the server listed several (validation errors). */
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request",
  401: "Not signed in or the session expired",
  403: "You are not allowed to do this",
  404: "Not found",
  409: "Conflict",
  413: "Too large",
  422: "Invalid input",
  429: "Too many requests",
  500: "Server error",
  502: "The model's server could not be reached",
  503: "Service unavailable",
  504: "The model's server timed out",
};

function detailProblems(detail: unknown): string[] {
  if (typeof detail === "string") return [detail];
  if (!Array.isArray(detail)) return [];
  return detail.map((d: unknown) => {
    if (!isObject(d) || !("msg" in d)) return isObject(d) ? JSON.stringify(d) : String(d);
    const loc = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
    return loc ? `${loc}: ${String(d.msg)}` : String(d.msg);
  });
}

/** Builds the ApiError for a non-2xx response from its status and body text. */
export function errorFromBody(status: number, bodyText: string): ApiError {
  const body = parseJson(bodyText);
  const fallback = `${STATUS_TEXT[status] ?? "Request failed"} (HTTP ${status})`;
  if (isObject(body)) {
    const err = body.error;
    if (isObject(err)) {
      return new ApiError(
        asString(err.message) ?? fallback,
        status,
        asString(err.type) ?? null,
        asString(err.code) ?? null,
      );
    }
    const message = asString(body.message) ?? asString(err);
    if (message !== undefined) {
      const problems = Array.isArray(body.problems) ? body.problems.map(String) : detailProblems(body.details);
      return new ApiError(message, status, asString(err) ?? null, null, problems);
    }
    if ("detail" in body) {
      const problems = detailProblems(body.detail);
      return new ApiError(problems.join("; ") || fallback, status, null, null, problems);
    }
  }
  const text = bodyText.trim();
  return new ApiError(text && text.length < 300 && !text.startsWith("<") ? text : fallback, status);
}

/** The message to show for anything thrown by a call: the server's words, or what went wrong on the way. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof DOMException && error.name === "AbortError") return "Stopped.";
  if (error instanceof TypeError) return `Could not reach the server (${error.message}).`;
  if (error instanceof Error) return error.message;
  return String(error);
}
