#!/usr/bin/env python3
# Passwords under load (docs/benchmarks.md, "Passwords"): CONCURRENT verify requests at once
# (distinct subjects, so no throttling), while one client GETs a record every 20 ms; reports
# how many verifies were checked (200) or refused at once (503 + Retry-After), their latency,
# the GET latencies meanwhile, and the server's peak RSS (VmHWM) and RssAnon. Loopback only.
#
# Usage: password_load.py --port P --pid PID --token T [--concurrent 200] [--waves 3]
# The record /v1/subjects/load/records/account/r1 and a password for subject "load" must exist.
import argparse
import http.client
import json
import statistics
import threading
import time

HOST = "127.0.0.1"


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def call(port, token, method, path, body=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    t0 = time.monotonic()
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--concurrent", type=int, default=200)
    ap.add_argument("--waves", type=int, default=3)
    a = ap.parse_args()
    gets, verify_ok, verify_busy, other = [], [], 0, 0
    anon_peak = status_kib(a.pid, "RssAnon")
    anon_before = anon_peak
    lock = threading.Lock()
    for wave in range(a.waves):
        start = threading.Event()
        results = []

        def verify(i):
            start.wait()
            results.append(call(a.port, a.token, "POST",
                                f"/v1/subjects/w{wave}-{i}/password/verify",
                                {"password": "Load-Pass-1"}))

        threads = [threading.Thread(target=verify, args=(i,)) for i in range(a.concurrent)]
        for t in threads:
            t.start()
        start.set()
        while any(t.is_alive() for t in threads):
            s, dt = call(a.port, a.token, "GET", "/v1/subjects/load/records/account/r1")
            with lock:
                gets.append(dt)
            anon_peak = max(anon_peak, status_kib(a.pid, "RssAnon"))
            time.sleep(0.02)
        for t in threads:
            t.join()
        for s, dt in results:
            if s == 200:
                verify_ok.append(dt)
            elif s == 503:
                verify_busy += 1
            else:
                other += 1
    out = {
        "concurrent": a.concurrent, "waves": a.waves,
        "verify_checked": len(verify_ok), "verify_503": verify_busy, "verify_other": other,
        "verify_p50_ms": round(1000 * statistics.median(verify_ok), 1) if verify_ok else None,
        "verify_max_ms": round(1000 * max(verify_ok), 1) if verify_ok else None,
        "get_samples": len(gets),
        "get_p50_ms": round(1000 * statistics.median(gets), 2),
        "get_p99_ms": round(1000 * sorted(gets)[int(0.99 * (len(gets) - 1))], 2),
        "get_max_ms": round(1000 * max(gets), 2),
        "rss_anon_before_kib": anon_before, "rss_anon_peak_kib": anon_peak,
        "vm_hwm_kib": status_kib(a.pid, "VmHWM"),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
