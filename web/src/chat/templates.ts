/** Prompt templates in the chat: their `{{variables}}` filled in before a persona or a directive is used (pure). */

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_ .-]{0,63}?)\s*\}\}/g;

/** The variables of a template body, in order of first use (as the api lists them). */
export function templateVariables(body: string): string[] {
  return [...new Set([...body.matchAll(VARIABLE)].map((m) => m[1]))];
}

/** The body with each `{{name}}` replaced by its value; a variable left empty keeps its placeholder. */
export function fillVariables(body: string, values: Record<string, string>): string {
  return body.replace(VARIABLE, (whole, name: string) => (values[name]?.trim() ? values[name] : whole));
}

/** A directive goes after what is already typed, on a line of its own. */
export function insertDirective(draft: string, directive: string): string {
  if (!draft.trim()) return directive;
  return `${draft.replace(/\s+$/, "")}\n\n${directive}`;
}
