// The typed Lethe client: openapi-fetch's createClient over the types openapi-typescript generates from docs/openapi.yaml.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

/** The request and answer bodies of the API, by schema name (e.g. `Schemas["Receipt"]`). */
export type Schemas = components["schemas"];

/** A client whose methods (GET, PUT, POST, DELETE, ...) are typed by path from the OpenAPI spec. */
export type LetheClient = Client<paths>;

/**
 * A client for the server at `baseUrl` (e.g. "http://127.0.0.1:8270") that sends
 * `Authorization: Bearer <token>` on every request. Omit the token for /healthz and /metrics.
 */
export function createLetheClient(baseUrl: string, token?: string): LetheClient {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers["Authorization"] = `Bearer ${token}`;
  return createClient<paths>({ baseUrl, headers });
}
