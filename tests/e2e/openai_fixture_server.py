#!/usr/bin/env python3
"""A scripted OpenAI-compatible server: a TEST FIXTURE for `bench --url`.

Never part of the product. It answers POST /v1/completions and
/v1/chat/completions with a streamed (SSE, chunked transfer encoding)
response of exactly max_tokens tokens of the word "the", a finish chunk, a
usage chunk and "data: [DONE]", and can be told to misbehave:

  --api-key KEY          401 with an OpenAI error body unless "Bearer KEY"
  --fail-every N         POST number k (1-based, the warm-up included) with
                         k % N == 0 gets --status with an OpenAI error body
  --fail-from K          every POST from number K on gets that error
  --status CODE          the status of those errors (default 400)
  --split                every SSE event goes out in several HTTP chunks (and
                         TCP writes), cut inside "data:", inside the JSON and
                         between CR and LF (the events use CRLF then)
  --tokens-per-chunk K   K tokens per content chunk, each chunk carrying the
                         running usage (vLLM's continuous_usage_stats)
  --no-usage             no usage object at all
  --stall S              sleep S seconds after the headers, before any event
  --malformed            the third event is not JSON
  --truncate             close the connection after two content chunks
  --plain-json           answer 200 with a JSON body, not an event stream
  --log FILE             append each request body as one JSON line

prompt_tokens in the usage is the number of whitespace-separated words of
the prompt (or of the chat message). The port (--port 0: any free one) is
written to --port-file once the server listens.
"""
import argparse
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNT = [0]


def next_number():
    with LOCK:
        COUNT[0] += 1
        return COUNT[0]


def log_body(body):
    if ARGS.log:
        with LOCK, open(ARGS.log, "a") as f:
            f.write(json.dumps(body) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_error_body(self, code, message, kind="invalid_request_error"):
        self.send_json(code, {"error": {"message": message, "type": kind, "param": None,
                                        "code": None}})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, payload):
        nl = b"\r\n" if ARGS.split else b"\n"
        data = b"data: " + payload + nl + nl
        if not ARGS.split:
            self.chunk(data)
            return
        cuts = sorted({3, max(4, len(data) // 2), len(data) - 1})
        prev = 0
        for c in cuts + [len(data)]:
            if c > prev:
                self.chunk(data[prev:c])
                time.sleep(0.001)
            prev = c

    def do_GET(self):
        if self.path.endswith("/v1/models"):
            self.send_json(200, {"object": "list", "data": [{"id": "fixture", "object": "model"}]})
        else:
            self.send_error_body(404, "no route %s" % self.path, "not_found_error")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        chat = self.path.endswith("/v1/chat/completions")
        if not chat and not self.path.endswith("/v1/completions"):
            self.send_error_body(404, "no route %s" % self.path, "not_found_error")
            return
        number = next_number()
        try:
            body = json.loads(raw)
        except ValueError:
            self.send_error_body(400, "body is not JSON")
            return
        log_body({"path": self.path, "number": number,
                  "authorization": self.headers.get("Authorization"), "body": body})
        if ARGS.api_key and self.headers.get("Authorization") != "Bearer " + ARGS.api_key:
            self.send_error_body(401, "Incorrect API key provided", "authentication_error")
            return
        failing = (ARGS.fail_every and number % ARGS.fail_every == 0) or \
                  (ARGS.fail_from and number >= ARGS.fail_from)
        if failing:
            self.send_error_body(ARGS.status, "fixture: request %d refused" % number)
            return
        problem = self.check(body, chat)
        if problem:
            self.send_error_body(400, problem)
            return
        text = body["messages"][0]["content"] if chat else body["prompt"]
        self.stream(chat, len(text.split()), body["max_tokens"])

    @staticmethod
    def check(body, chat):
        if body.get("stream") is not True:
            return "fixture: stream must be true"
        if body.get("stream_options") != {"include_usage": True}:
            return "fixture: stream_options must be {\"include_usage\": true}"
        if body.get("ignore_eos") is not True or body.get("temperature") != 0:
            return "fixture: ignore_eos must be true and temperature 0"
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            return "fixture: max_tokens must be a positive integer"
        if chat:
            m = body.get("messages")
            if not (isinstance(m, list) and len(m) == 1 and m[0].get("role") == "user"
                    and isinstance(m[0].get("content"), str)):
                return "fixture: messages must be one user message"
        elif not isinstance(body.get("prompt"), str):
            return "fixture: prompt must be a string"
        return None

    def choice(self, chat, text, finish=None):
        if chat:
            delta = {"content": text} if text is not None else {}
            return {"index": 0, "delta": delta, "finish_reason": finish}
        return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}

    def send_obj(self, obj):
        self.event(json.dumps(obj).encode())

    def stream(self, chat, prompt_tokens, max_tokens):
        if ARGS.plain_json:
            self.send_json(200, {"choices": [self.choice(chat, "the")]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        if ARGS.stall:
            time.sleep(ARGS.stall)
        base = {"id": "cmpl-fixture", "created": 0, "model": "fixture",
                "object": "chat.completion.chunk" if chat else "text_completion"}
        if chat:
            self.send_obj(dict(base, choices=[{"index": 0, "delta": {"role": "assistant",
                                                                     "content": ""}}]))
        done, sent_chunks = 0, 0
        while done < max_tokens:
            k = min(ARGS.tokens_per_chunk, max_tokens - done)
            text = ("the" if done == 0 else " the") + " the" * (k - 1)
            done += k
            obj = dict(base, choices=[self.choice(chat, text)])
            if ARGS.tokens_per_chunk > 1 and not ARGS.no_usage:
                obj["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": done,
                                "total_tokens": prompt_tokens + done}
            if ARGS.malformed and sent_chunks == 2:
                self.event(b'{"choices": [{"text": "broken')
            self.send_obj(obj)
            sent_chunks += 1
            if ARGS.truncate and sent_chunks == 2:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            time.sleep(0.001)
        self.send_obj(dict(base, choices=[self.choice(chat, None if chat else "", "length")]))
        if not ARGS.no_usage:
            self.send_obj(dict(base, choices=[], usage={
                "prompt_tokens": prompt_tokens, "completion_tokens": max_tokens,
                "total_tokens": prompt_tokens + max_tokens}))
        self.event(b"[DONE]")
        self.chunk(b"")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that hangs up mid-stream (the bench cancelling a
        # malformed one) is expected here
        pass


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--api-key")
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--fail-from", type=int, default=0)
    p.add_argument("--status", type=int, default=400)
    p.add_argument("--split", action="store_true")
    p.add_argument("--tokens-per-chunk", type=int, default=1)
    p.add_argument("--no-usage", action="store_true")
    p.add_argument("--stall", type=float, default=0.0)
    p.add_argument("--malformed", action="store_true")
    p.add_argument("--truncate", action="store_true")
    p.add_argument("--plain-json", action="store_true")
    p.add_argument("--log")
    ARGS = p.parse_args()
    server = Server(("127.0.0.1", ARGS.port), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
