#!/usr/bin/env python3
"""Client-side checks of `OUT serve` for tests/e2e/test_serve*.sh (stdlib only).

usage: serve_check.py COMMAND ARGS...
  sse FILE                     a saved SSE body: every event is `data: {json}`, the
                               last is [DONE]; prints the concatenated text (JSON string)
  metric PORT NAME             prints the value of one /metrics series (exact name,
                               labels included)
  wait-idle PORT               polls /metrics (up to 60 s) until no sequence runs or
                               waits and no KV block is used; fails otherwise
  disconnect PORT              a streaming request whose client hangs up after the
                               first chunk: cancelled, its KV blocks freed
  hangup PORT                  a non-streaming request whose client hangs up while it runs: cancelled
  rate-limit PORT              (--max-concurrency 1 --max-queue 0) a second request while
                               one runs gets 429; after the first ends, 200 again
  capacity PORT                (--max-concurrency 2 --max-queue 1) while one stream runs, a
                               second and a third sent together run and wait, a fourth
                               gets 429 (requests that arrive while a step runs are
                               queued for the next turn, and must be counted as if
                               they had been submitted at once)
  shutdown PORT PID            SIGTERM while a stream runs (--shutdown-timeout 0): the
                               stream ends with an error event and [DONE]
  slow-reader PORT             (--max-stream-buffer small) a stream whose client never
                               reads is cancelled and its connection closed
  load PORT CLIENTS REQUESTS   CLIENTS threads send REQUESTS streaming completions in all
                               (8 tokens each) while a raw client opens a stream and never
                               reads it; every request must succeed; KV back to 0
Each command exits 0 on success and prints what failed otherwise.
"""
import http.client
import json
import os
import re
import signal
import socket
import sys
import threading
import time

LONG = {"prompt": "Once upon a time", "max_tokens": 480, "ignore_eos": True, "n": 16,
        "temperature": 0.8, "seed": 1}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    c.request(method, path, body=data, headers=headers or {"Content-Type": "application/json"})
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def metrics(port):
    st, body = request(port, "GET", "/metrics")
    if st != 200:
        fail("/metrics: status %d" % st)
    vals = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            vals[name] = float(value)
    return vals


def wait_idle(port):
    for _ in range(600):
        m = metrics(port)
        if (m["llmcc_kv_blocks_used"] == 0 and m["llmcc_sequences_running"] == 0 and
                m["llmcc_sequences_waiting"] == 0 and m["llmcc_requests_waiting"] == 0):
            return m
        time.sleep(0.1)
    fail("the server did not become idle: %s" % {k: v for k, v in m.items() if "_bucket" not in k})


def raw_stream(port, body, rcvbuf=0):
    """Sends a streaming completion on a raw socket; returns the socket."""
    data = json.dumps(dict(body, stream=True)).encode()
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(data) + data)
    return s


def read_until(s, marker):
    data = b""
    while marker not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def sse_events(text):
    """The JSON objects of an SSE body; checks the framing and the [DONE] end."""
    events = [e for e in text.split("\n\n") if e.strip()]
    if not events or events[-1].strip() != "data: [DONE]":
        fail("the stream does not end with data: [DONE]: %r" % text[-200:])
    out = []
    for e in events[:-1]:
        if not e.startswith("data: "):
            fail("an event that is not `data: `: %r" % e[:100])
        out.append(json.loads(e[6:]))
    return out


def cmd_sse(path):
    objs = sse_events(open(path).read())
    text = ""
    for o in objs:
        for c in o.get("choices", []):
            text += c.get("text") or c.get("delta", {}).get("content") or ""
    print(json.dumps(text))


def cmd_disconnect(port):
    before = metrics(port)["llmcc_requests_cancelled_total"]
    s = raw_stream(port, LONG)
    head = read_until(s, b"data: ")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        fail("stream did not start: %r" % head[:200])
    s.close()
    m = wait_idle(port)
    if m["llmcc_requests_cancelled_total"] != before + 1:
        fail("cancelled_total %s, expected %s" % (m["llmcc_requests_cancelled_total"], before + 1))


def cmd_hangup(port):
    before = metrics(port)["llmcc_requests_cancelled_total"]
    data = json.dumps(LONG).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
    for _ in range(600):  # until it runs
        if metrics(port)["llmcc_sequences_running"] > 0:
            break
        time.sleep(0.05)
    s.close()
    m = wait_idle(port)
    if m["llmcc_requests_cancelled_total"] != before + 1:
        fail("cancelled_total %s, expected %s" % (m["llmcc_requests_cancelled_total"], before + 1))


def cmd_rate_limit(port):
    s = raw_stream(port, LONG)
    read_until(s, b"data: ")
    st, body = request(port, "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 2})
    err = json.loads(body).get("error", {})
    if st != 429 or err.get("type") != "rate_limit_error" or "--max-queue" not in err.get("message", ""):
        fail("second request: %d %r" % (st, body[:300]))
    s.close()
    wait_idle(port)
    st, body = request(port, "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 2})
    if st != 200:
        fail("after the first ended: %d %r" % (st, body[:300]))


def cmd_capacity(port):
    a = raw_stream(port, LONG)
    read_until(a, b"data: ")
    # the second and third arrive together, most likely within one step
    b, c = socket.create_connection(("127.0.0.1", port)), socket.create_connection(("127.0.0.1", port))
    for s, body in ((b, dict(LONG, stream=True)), (c, {"prompt": "Hi", "max_tokens": 2})):
        data = json.dumps(body).encode()
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
    head = read_until(b, b"data: ")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        fail("second request: %r" % head[:300])
    for _ in range(600):
        if metrics(port)["llmcc_requests_waiting"] == 1:
            break
        time.sleep(0.02)
    else:
        fail("the third request is not waiting")
    st, body = request(port, "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 2})
    if st != 429:
        fail("fourth request: %d %r" % (st, body[:300]))
    a.close()
    b.close()
    head = read_until(c, b"}}")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        fail("third request: %r" % head[:300])
    c.close()
    wait_idle(port)


def cmd_shutdown(port, pid):
    s = raw_stream(port, LONG)
    read_until(s, b"data: ")
    os.kill(pid, signal.SIGTERM)
    rest = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    text = rest.decode(errors="replace")
    if "server_shutting_down" not in text or "data: [DONE]" not in text:
        fail("the stream did not end with the shutdown error and [DONE]: %r" % text[-300:])


def cmd_slow_reader(port):
    before = metrics(port)["llmcc_requests_cancelled_total"]
    s = raw_stream(port, dict(LONG, logprobs=20), rcvbuf=4096)  # ~8 MB of chunks
    m = wait_idle(port)  # it cannot finish unread: 16 x 480 tokens pass the buffer bound
    if m["llmcc_requests_cancelled_total"] != before + 1:
        fail("cancelled_total %s, expected %s" % (m["llmcc_requests_cancelled_total"], before + 1))
    s.settimeout(30)
    data = b""
    while True:  # what was sent, then the close
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    if b"data: [DONE]" in data:
        fail("the unread stream was finished, not cut")
    s.close()


def stream_one(port, i, errors):
    body = {"prompt": "Once upon a time" if i % 2 else "The dog", "max_tokens": 8,
            "ignore_eos": True, "stream": True, "seed": i, "temperature": 0.7,
            "stream_options": {"include_usage": True}}
    try:
        st, raw = request(port, "POST", "/v1/completions", body)
        if st != 200:
            raise RuntimeError("status %d: %r" % (st, raw[:200]))
        objs = sse_events(raw.decode())
        finish = [c["finish_reason"] for o in objs for c in o["choices"] if c["finish_reason"]]
        usage = objs[-1].get("usage") or {}
        if finish != ["length"] or usage.get("completion_tokens") != 8:
            raise RuntimeError("finish %r usage %r" % (finish, usage))
    except Exception as e:  # noqa: BLE001 - every failure is reported
        errors.append("request %d: %s" % (i, e))


def cmd_load(port, clients, total):
    slow = raw_stream(port, dict(LONG, n=2, max_tokens=400))  # never read until the end
    errors, lock, next_i = [], threading.Lock(), [0]

    def worker():
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= total:
                return
            stream_one(port, i, errors)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slow.close()
    if errors:
        fail("%d of %d requests failed, first: %s" % (len(errors), total, errors[0]))
    m = wait_idle(port)
    if m['llmcc_requests_total{code="200"}'] < total:
        fail("requests_total 200: %s < %d" % (m['llmcc_requests_total{code="200"}'], total))
    print("load: %d requests from %d clients, none failed" % (total, clients))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sse":
        cmd_sse(args[0])
    elif cmd == "metric":
        print(metrics(int(args[0])).get(args[1], "absent"))
    elif cmd == "wait-idle":
        wait_idle(int(args[0]))
    elif cmd == "disconnect":
        cmd_disconnect(int(args[0]))
    elif cmd == "hangup":
        cmd_hangup(int(args[0]))
    elif cmd == "rate-limit":
        cmd_rate_limit(int(args[0]))
    elif cmd == "capacity":
        cmd_capacity(int(args[0]))
    elif cmd == "shutdown":
        cmd_shutdown(int(args[0]), int(args[1]))
    elif cmd == "slow-reader":
        cmd_slow_reader(int(args[0]))
    elif cmd == "load":
        cmd_load(int(args[0]), int(args[1]), int(args[2]))
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
