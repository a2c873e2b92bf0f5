// RFC 8785 (JCS) canonical JSON for the values a receipt holds: objects, arrays, strings, numbers, booleans, null.
//
// JCS serialises strings and numbers exactly as ECMAScript's JSON.stringify does, sorts object
// keys by their UTF-16 code units (JavaScript's default string order) and writes no whitespace,
// so this is JSON.stringify with sorted keys applied recursively.

export function canonicalize(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("JCS: non-finite number");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(canonicalize).join(",")}]`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalize(v)}`).join(",")}}`;
  }
  throw new TypeError(`JCS: cannot serialise a ${typeof value}`);
}
