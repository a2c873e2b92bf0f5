#!/usr/bin/env python3
# The HTTP edge under idle and slow clients (docs/benchmarks.md, "HTTP edge"): opens IDLE
# keep-alive connections and SLOW slow-header clients against a server on loopback, then
# samples GET /healthz latency from fresh connections, and reports medians and the server's
# memory. Loopback only; bounded in time (--duration) and in count (--probes).
#
#   idle:  each connection sends GET /healthz with keep-alive, reads the answer, then stays
#          open, repeating the request every --refresh seconds (an application's pool); a
#          connection the server closes is reopened.
#   slow:  each client sends a request line, then one header line every --slow-every seconds
#          and never finishes its head (the slowloris shape); reopened when the server closes.
#   probe: every --probe-every seconds a new connection sends GET /healthz with
#          Connection: close; its latency runs from connect to the last byte of the answer.
#   bomb:  with --header-bomb LINES, one connection sends LINES header lines of 8 KiB each and
#          the server's RSS is read before and after.
#
# Usage: edge_load.py --port P [--pid PID] [--idle 1000] [--slow 256] [--duration 30]
# Prints one JSON line with the figures (and a human summary on stderr).
import argparse
import asyncio
import json
import resource
import statistics
import sys
import time

HOST = "127.0.0.1"


def rss_kib(pid):
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fd_count(pid):
    import os
    try:
        return len(os.listdir(f"/proc/{pid}/fd")) if pid else None
    except OSError:
        return None


REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


class Counters:
    def __init__(self):
        self.idle_open = 0
        self.idle_reopened = 0
        self.idle_failed_requests = 0
        self.slow_open = 0
        self.slow_closed_by_server = 0


async def idle_client(args, c, stop):
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await asyncio.open_connection(HOST, args.port)
            c.idle_open += 1
            try:
                while not stop.is_set():
                    writer.write(REQUEST)
                    await writer.drain()
                    await asyncio.wait_for(read_response(reader), args.duration + 30)
                    try:
                        await asyncio.wait_for(stop.wait(), args.refresh)
                    except asyncio.TimeoutError:
                        pass
            finally:
                c.idle_open -= 1
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                asyncio.LimitOverrunError, ValueError, IndexError):
            c.idle_failed_requests += 1
        finally:
            if writer is not None:
                writer.close()
        if not stop.is_set():
            c.idle_reopened += 1
            await asyncio.sleep(0.05)


async def slow_client(args, c, stop, n):
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await asyncio.open_connection(HOST, args.port)
            c.slow_open += 1
            try:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                await writer.drain()
                i = 0
                while not stop.is_set():
                    # Stagger the clients so that their header lines do not all arrive at once.
                    delay = args.slow_every if i else (n % 16) * args.slow_every / 16
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                    except asyncio.TimeoutError:
                        pass
                    if stop.is_set():
                        break
                    if reader.at_eof():
                        raise ConnectionResetError()
                    writer.write(b"X-Slow-%d: x\r\n" % i)
                    await writer.drain()
                    i += 1
            finally:
                c.slow_open -= 1
        except (OSError, asyncio.IncompleteReadError):
            c.slow_closed_by_server += 1
        finally:
            if writer is not None:
                writer.close()
        if not stop.is_set():
            await asyncio.sleep(0.05)


async def probe_once(args):
    start = time.monotonic()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, args.port),
                                                args.probe_timeout)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(read_response(reader), args.probe_timeout)
        return (time.monotonic() - start) * 1000.0, status
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
        return None, 0
    finally:
        if writer is not None:
            writer.close()


async def header_bomb(args):
    before = rss_kib(args.pid)
    line = b"X-Bomb: " + b"b" * (8192 - 10) + b"\r\n"
    sent = 0
    status = None
    try:
        reader, writer = await asyncio.open_connection(HOST, args.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + args.duration
        for _ in range(args.header_bomb):
            if time.monotonic() > deadline:
                break
            writer.write(line)
            await asyncio.wait_for(writer.drain(), 10)
            sent += 1
        writer.write(b"\r\n")
        await writer.drain()
        status = await asyncio.wait_for(read_response(reader), 10)
        writer.close()
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
        pass
    await asyncio.sleep(0.5)
    return {"bomb_lines_sent": sent, "bomb_status": status, "rss_before_kib": before,
            "rss_after_kib": rss_kib(args.pid)}


async def main(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.header_bomb:
        print(json.dumps(await header_bomb(args)))
        return
    rss_start = rss_kib(args.pid)
    c = Counters()
    stop = asyncio.Event()
    tasks = []
    for i in range(args.idle):
        tasks.append(asyncio.create_task(idle_client(args, c, stop)))
        if i % 50 == 49:
            await asyncio.sleep(0.01)
    for i in range(args.slow):
        tasks.append(asyncio.create_task(slow_client(args, c, stop, i)))
    await asyncio.sleep(args.warmup)
    latencies, failures = [], 0
    rss_peak = rss_kib(args.pid) or 0
    end = time.monotonic() + args.duration
    probes = 0
    while time.monotonic() < end and probes < args.probes:
        ms, status = await probe_once(args)
        probes += 1
        if ms is None or status != 200:
            failures += 1
        else:
            latencies.append(ms)
        rss_peak = max(rss_peak, rss_kib(args.pid) or 0)
        await asyncio.sleep(args.probe_every)
    result = {
        "idle": args.idle, "slow": args.slow, "probes": probes, "probe_failures": failures,
        "idle_open_at_end": c.idle_open, "idle_reopened": c.idle_reopened,
        "idle_failed_requests": c.idle_failed_requests,
        "slow_open_at_end": c.slow_open, "slow_closed_by_server": c.slow_closed_by_server,
        "server_fds_at_end": fd_count(args.pid),
        "rss_start_kib": rss_start, "rss_peak_kib": rss_peak,
    }
    if latencies:
        q = sorted(latencies)
        result.update({"median_ms": round(statistics.median(q), 2),
                       "p90_ms": round(q[int(0.9 * (len(q) - 1))], 2),
                       "max_ms": round(q[-1], 2)})
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(result))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, default=0, help="server pid, for RSS and fd counts")
    p.add_argument("--idle", type=int, default=1000)
    p.add_argument("--slow", type=int, default=256)
    p.add_argument("--refresh", type=float, default=4.0, help="seconds between pool requests")
    p.add_argument("--slow-every", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--probes", type=int, default=100)
    p.add_argument("--probe-every", type=float, default=0.2)
    p.add_argument("--probe-timeout", type=float, default=30.0)
    p.add_argument("--header-bomb", type=int, default=0, metavar="LINES")
    a = p.parse_args()
    if a.idle + a.slow > 20000 or a.duration > 300:
        sys.exit("edge_load.py: at most 20,000 connections and 300 s")
    asyncio.run(main(a))
