#!/usr/bin/env bash
# Runs the README's "Five minutes with curl" block against the real binary, so the README
# stays true. Usage: readme_walkthrough.sh PATH/TO/vault PATH/TO/README.md
set -euo pipefail
vault=$1
readme=$2
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

ADMIN=$("$vault" init --data-dir data --json | jq -r .admin_token)
export ADMIN
"$vault" serve --data-dir data --listen 127.0.0.1:0 --port-file port --sweep-interval 0 2>server.log &
pid=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
export V="http://127.0.0.1:$(cat port)"

# The first ```sh block after the walkthrough heading.
awk '/^## Five minutes with curl/{f=1} f&&/^```sh$/{b=1;next} b&&/^```$/{exit} b' "$readme" > walkthrough.sh
[ -s walkthrough.sh ] || { echo "walkthrough block not found in $readme"; exit 1; }
bash -euo pipefail walkthrough.sh > out.txt 2>&1 || { cat out.txt; echo "FAIL: walkthrough failed"; exit 1; }
# Run twice against the same server, as a reader trying it again would: it must pass again.
bash -euo pipefail walkthrough.sh > out2.txt 2>&1 || { cat out2.txt; echo "FAIL: second walkthrough run failed"; exit 1; }
grep -q 'Signature Verified Successfully' out2.txt || { echo "FAIL: second run: receipt did not verify"; exit 1; }
cat out.txt
grep -q '^profile after erasure: 410$' out.txt || { echo "FAIL: profile not 410 after erasure"; exit 1; }
grep -q '^marketing write after withdrawal: 409$' out.txt || { echo "FAIL: marketing write not 409"; exit 1; }
grep -q '^app read while restricted: 423$' out.txt || { echo "FAIL: restricted read not 423"; exit 1; }
grep -q 'Signature Verified Successfully' out.txt || { echo "FAIL: receipt did not verify"; exit 1; }
grep -q '"amount_cents":1200' out.txt || { echo "FAIL: billing not retained"; exit 1; }
grep -q '^{"valid":true}$' out.txt || { echo "FAIL: the right password did not verify"; exit 1; }
grep -q '^{"valid":false}$' out.txt || { echo "FAIL: a wrong password verified"; exit 1; }
grep -q '"subject_id":"user-' out.txt || { echo "FAIL: lookup by e-mail did not find the user"; exit 1; }
# A tampered receipt must fail the same check.
jq -cjS '.receipt | del(.signature) | .subject_ref = "00"' erasure.json > tampered.body
if openssl pkeyutl -verify -pubin -inkey receipt-pub.pem -rawin -in tampered.body -sigfile receipt.sig >/dev/null 2>&1; then
  echo "FAIL: tampered receipt verified"; exit 1
fi
# No personal data in the server's log.
if grep -E 'Ada|ada@example|user-[0-9a-f]{8}' server.log; then echo "FAIL: PII in server log"; exit 1; fi
echo "readme walkthrough: ok"
