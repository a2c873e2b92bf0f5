// The README's "Five minutes with curl" walkthrough, run through the generated typed client against the real server.
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import { createLetheClient, type LetheClient, type Schemas } from "../src/index.js";
import { canonicalize } from "./jcs.js";
import { startServer, type RunningServer } from "./server.js";

const bin = process.env["LETHE_BIN"];
const sid = "user-42";
const profile = { name: "Ada Lovelace", email: "ada@example.com" };
const invoice = { amount_cents: 1200, currency: "EUR" };
const profilePath = { sid, category: "account", rid: "profile" };
const invoicePath = { sid, category: "billing", rid: "inv-2026-001" };

// True when `signature` (base64) is a valid Ed25519 signature of the receipt's JCS form without it.
function receiptVerifies(receipt: Schemas["Receipt"], publicKey: Schemas["ReceiptPublicKey"]): boolean {
  const { signature, ...signed } = receipt;
  const key = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey.public_key, "base64").toString("base64url") },
    format: "jwk",
  });
  return verify(null, Buffer.from(canonicalize(signed), "utf8"), key, Buffer.from(signature, "base64"));
}

describe("README walkthrough through the typed client", { skip: bin === undefined ? "LETHE_BIN not set" : false }, () => {
  let server: RunningServer;
  let admin: LetheClient;
  let app: LetheClient;
  let dpo: LetheClient;
  let receipt: Schemas["Receipt"];

  before(async () => {
    server = await startServer(bin ?? "");
    admin = createLetheClient(server.baseUrl, server.adminToken);
  });
  after(async () => {
    await server?.stop();
  });

  test("the admin creates an app token and a dpo token", async () => {
    const a = await admin.POST("/v1/tokens", {
      body: { role: "app", purposes: ["service", "billing"], name: "backend" },
    });
    assert.equal(a.response.status, 201);
    assert.ok(a.data);
    assert.equal(a.data.role, "app");
    assert.deepEqual(a.data.purposes, ["service", "billing"]);
    assert.match(a.data.token_id, /^[0-9a-f]{16}$/);
    app = createLetheClient(server.baseUrl, a.data.token);

    const d = await admin.POST("/v1/tokens", { body: { role: "dpo", name: "privacy-team" } });
    assert.equal(d.response.status, 201);
    assert.ok(d.data);
    assert.equal(d.data.role, "dpo");
    assert.deepEqual(d.data.purposes, []);
    assert.notEqual(d.data.token, a.data.token);
    dpo = createLetheClient(server.baseUrl, d.data.token);
  });

  test("the app stores a profile (account) and an invoice (billing, with event_time)", async () => {
    const p = await app.PUT("/v1/subjects/{sid}/records/{category}/{rid}", {
      params: { path: profilePath },
      body: { data: profile },
    });
    assert.equal(p.response.status, 201);
    assert.ok(p.data);
    assert.equal(p.data.version, 1);
    assert.equal(p.data.retain_until, null, "account is kept until erasure");

    const i = await app.PUT("/v1/subjects/{sid}/records/{category}/{rid}", {
      params: { path: invoicePath },
      body: { data: invoice, event_time: "2026-11-01T10:00:00Z" },
    });
    assert.equal(i.response.status, 201);
    assert.ok(i.data);
    assert.equal(i.data.record_id, "inv-2026-001");
    assert.ok(i.data.retain_until !== null, "billing has a retention end");
    assert.ok(Date.parse(i.data.retain_until) > Date.parse("2033-10-31T00:00:00Z"), i.data.retain_until);
  });

  test("the app reads the profile back, and the subject's summary", async () => {
    const r = await app.GET("/v1/subjects/{sid}/records/{category}/{rid}", { params: { path: profilePath } });
    assert.equal(r.response.status, 200);
    assert.ok(r.data);
    assert.deepEqual(r.data.data, profile);
    assert.equal(r.data.category, "account");

    const s = await app.GET("/v1/subjects/{sid}", { params: { path: { sid } } });
    assert.equal(s.response.status, 200);
    assert.ok(s.data);
    assert.equal(s.data.state, "active");
    assert.equal(s.data.erasure, null);
    const counts = Object.fromEntries(s.data.categories.map((c) => [c.category, c.records]));
    assert.equal(counts["account"], 1);
    assert.equal(counts["billing"], 1);
  });

  test("an immediate erasure by the dpo answers 200 with a signed receipt", async () => {
    const e = await dpo.POST("/v1/subjects/{sid}/erasure", {
      params: { path: { sid } },
      body: { mode: "immediate", reason: "user request" },
    });
    assert.equal(e.response.status, 200);
    assert.ok(e.data);
    assert.equal(e.data.state, "completed");
    assert.ok(e.data.receipt, "a completed erasure carries its receipt");
    receipt = e.data.receipt;
    assert.equal(receipt.mode, "immediate");
    assert.equal(receipt.erasure_id, e.data.erasure_id);
    assert.ok(receipt.shredded.some((s) => s.category === "account" && s.key_ids.length > 0));
    assert.ok(receipt.retained.some((r) => r.category === "billing" && r.legal_basis === "legal_obligation"));
  });

  test("the profile is gone (410); the dpo still reads the retained invoice", async () => {
    const gone = await app.GET("/v1/subjects/{sid}/records/{category}/{rid}", { params: { path: profilePath } });
    assert.equal(gone.response.status, 410);
    assert.equal(gone.data, undefined);
    assert.equal(gone.response.headers.get("content-type"), "application/problem+json");

    const inv = await dpo.GET("/v1/subjects/{sid}/records/{category}/{rid}", { params: { path: invoicePath } });
    assert.equal(inv.response.status, 200);
    assert.ok(inv.data);
    assert.deepEqual(inv.data.data, invoice);
    assert.equal(inv.data.event_time, "2026-11-01T10:00:00Z");
  });

  test("the receipt verifies with the published Ed25519 key; a tampered one does not", async () => {
    const k = await dpo.GET("/v1/receipts/public-key");
    assert.equal(k.response.status, 200);
    assert.ok(k.data);
    assert.equal(k.data.algorithm, "ed25519");
    assert.equal(k.data.key_id, receipt.key_id);
    assert.equal(receiptVerifies(receipt, k.data), true);
    assert.equal(receiptVerifies({ ...receipt, subject_ref: "00" }, k.data), false);
    assert.equal(receiptVerifies({ ...receipt, completed_at: "2020-01-01T00:00:00Z" }, k.data), false);
  });

  test("the server's log holds none of the personal data", () => {
    const log = readFileSync(server.logFile, "utf8");
    for (const secret of ["Ada", "ada@example", sid]) assert.ok(!log.includes(secret), `log contains ${secret}`);
  });
});
