/** Random ids. crypto.randomUUID exists only in secure contexts; getRandomValues exists everywhere. */
export function newId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Sessions this page created with "New chat": known to be new, so they open at once without asking the api.
// Not kept across reloads, when the session may have been saved meanwhile.
const created = new Set<string>();

export function newSessionId(): string {
  const id = newId();
  created.add(id);
  return id;
}

export function isCreatedHere(id: string): boolean {
  return created.has(id);
}
