/**
 * Text from the bridge made safe for an operator's terminal. Names and descriptions come from service
 * providers (client_name, ...) and directory definitions; printed raw, an ESC sequence could rewrite
 * the screen or the window title, a carriage return overwrite the line, and a bidirectional override
 * make `approve evil` read as something else. Such characters are shown as visible escapes instead.
 */

/** C0 and C1 controls (tab and newline too: values never span lines), DEL, bidi marks, embeddings, overrides and isolates, line/paragraph separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Every string in a parsed JSON value (keys too) made printable. */
export function scrub(value: unknown): unknown {
  if (typeof value === 'string') return printable(value);
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [printable(k), scrub(v)]));
  return value;
}
