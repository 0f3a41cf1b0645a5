/** The one place HTTP calls are made: base URL, bearer token, JSON, and errors turned into ApiError. */
import { ApiError, errorFromBody } from "./errors";

export type TokenSource = () => Promise<string | null>;

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  query?: Record<string, string | number | boolean | undefined | null>;
}

/** Called on a 401: true when the credentials were renewed and the request is worth one retry. */
export type Reauthenticate = () => Promise<boolean>;

export class HttpClient {
  constructor(
    readonly baseUrl: string,
    readonly token: TokenSource,
    private readonly reauthenticate: Reauthenticate = () => Promise.resolve(false),
  ) {}

  url(path: string, query?: RequestOptions["query"]): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ""}`;
  }

  async headers(json: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (json) headers["Content-Type"] = "application/json";
    const token = await this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  /** A raw response (for streams); non-2xx statuses become ApiError. */
  async send(path: string, options: RequestOptions = {}): Promise<Response> {
    let response = await this.fetchOnce(path, options);
    if (response.status === 401 && (await this.reauthenticate())) response = await this.fetchOnce(path, options);
    if (!response.ok) throw errorFromBody(response.status, await response.text());
    return response;
  }

  /** POST a multipart form (a file upload); the answer's JSON. */
  async upload<T>(path: string, form: FormData, signal?: AbortSignal): Promise<T> {
    const post = async () =>
      fetch(this.url(path), { method: "POST", headers: await this.headers(false), body: form, signal });
    let response = await post();
    if (response.status === 401 && (await this.reauthenticate())) response = await post();
    if (!response.ok) throw errorFromBody(response.status, await response.text());
    return (await response.json()) as T;
  }

  private async fetchOnce(path: string, options: RequestOptions): Promise<Response> {
    const hasBody = options.body !== undefined;
    return fetch(this.url(path, options.query), {
      method: options.method ?? (hasBody ? "POST" : "GET"),
      headers: await this.headers(hasBody),
      body: hasBody ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    });
  }

  async json<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(path, options);
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(`the server answered something that is not JSON: ${text.slice(0, 120)}`, response.status);
    }
  }
}
