// Checks the test's RFC 8785 canonicaliser on known inputs, so a receipt check cannot pass by accident.
import assert from "node:assert/strict";
import { test } from "node:test";

import { canonicalize } from "./jcs.js";

test("keys are sorted at every level and no whitespace is written", () => {
  const value = { b: [3, { z: true, a: null }], a: "x", "": -0.5 };
  assert.equal(canonicalize(value), '{"":-0.5,"a":"x","b":[3,{"a":null,"z":true}]}');
});

test("keys sort by UTF-16 code units and strings escape as in RFC 8785", () => {
  // RFC 8785 section 3.2.3 orders these keys: "\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33".
  const keys = ["\u20ac", "\r", "\ufb33", "1", "\ud83d\ude00", "\u0080", "\u00f6"];
  const value = Object.fromEntries(keys.map((k, i) => [k, i]));
  assert.equal(canonicalize(value), '{"\\r":1,"1":3,"\u0080":5,"\u00f6":6,"\u20ac":0,"\ud83d\ude00":4,"\ufb33":2}');
  assert.equal(canonicalize("\u2028\t\"\u001f"), '"\u2028\\t\\"\\u001f"');
});

test("numbers serialise as ECMAScript does; non-finite numbers are refused", () => {
  assert.equal(canonicalize([1e21, 1e-7, 0.1, 100, -0]), "[1e+21,1e-7,0.1,100,0]");
  assert.throws(() => canonicalize(Number.NaN), TypeError);
});
