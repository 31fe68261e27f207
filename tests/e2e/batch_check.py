#!/usr/bin/env python3
"""Helpers for test_batch.sh: request files for `generate --input` and checks
of its results.

  batch_check.py mixed OUT.jsonl            16 mixed requests (greedy and seeded
                                             sampling, top-k/top-p/min-p, penalties,
                                             logprobs, n = 2, stop strings, prompts
                                             from a few tokens to past one step)
  batch_check.py long OUT.jsonl             24 long requests of mixed lengths (EOS
                                             ignored, no shared prefixes)
  batch_check.py split IN.jsonl DIR         one file per request line: DIR/1.jsonl ...
  batch_check.py same A.jsonl B.jsonl...    every result of A equals (token ids, text,
                                             finish and stop reason of every choice) the
                                             result of the same line in B; with several
                                             B files, line i of A is compared with the
                                             only line of the i-th B file
  batch_check.py agree A.jsonl B.jsonl      prints how many choices of A and B have the
                                             same tokens and lists the others; exit 1
                                             unless all do
  batch_check.py generate-args IN.jsonl I [with-logprobs]
                                            shell words for `generate -p` reproducing
                                             line I (n = 1 lines only), or nothing; with
                                             with-logprobs also its --logprobs N
  batch_check.py logprobs A.jsonl B.jsonl [TOL]
                                            the logprobs of every choice of A against B's
                                             over the tokens both chose alike (up to the
                                             first difference): chosen and top values
                                             within TOL * max(1, |B|) (default 1e-5), top
                                             ids equal unless their values are that close
                                             (a near tie may swap them); exit 1 otherwise
                                             or when no logprob was compared
  batch_check.py logprobs-lines A B [TOL]   the same for two `generate --logprobs-file`
                                             outputs (one JSON line per token)
  batch_check.py engine-stats LOG [penalties] [logprobs]
                                            the "cuda engine:" line of a run with
                                             LLMCC_ENGINE_STATS=1: rows with penalties
                                             and/or with logprobs (both when neither is
                                             named) were sampled on the device, inside
                                             replayed graphs too, and no logits row came
                                             to the host; exit 1 otherwise
  batch_check.py ids RESULTS.jsonl I        the token ids of line I's first choice
"""
import json
import re
import sys

STORY = ("Once upon a time there was a little girl named Lily. She loved to play in the park "
         "with her dog Max. One day they found a big red ball under a tree. Lily threw the ball "
         "and Max ran after it. They played until the sun went down and then they went home "
         "to eat dinner with mom and dad. ")


def words(n, start=0):
    w = (STORY * 20).split()
    return " ".join(w[start:start + n])


def mixed():
    reqs = []
    for i in range(16):
        r = {"prompt": words(2 + (i * 13) % 90), "max_tokens": 20 + (i * 7) % 40, "seed": 100 + i,
             "id": "req-%d" % i}
        r["temperature"] = 0.0 if i % 2 == 0 else 0.8
        if i % 4 == 1:
            r["top_k"] = 40
        if i % 4 == 3:
            r["top_p"] = 0.9
        if i == 5:
            r["min_p"] = 0.05
        if i in (6, 9):
            r["repetition_penalty"] = 1.3
        if i == 9:
            r["presence_penalty"] = 0.5
            r["frequency_penalty"] = 0.3
        if i in (7, 10):
            r["logprobs"] = 2
        if i in (8, 13):
            r["n"] = 2
        if i == 11:
            r["stop"] = ["park", "ball"]
        if i == 12:
            r["ignore_eos"] = True
        reqs.append(r)
    return reqs


def long_requests():
    reqs = []
    for i in range(24):
        # each prompt starts at another word: no prefix is shared (a shared
        # prefix would shrink the used blocks, not the waste per sequence)
        reqs.append({"prompt": words(60 + (i * 37) % 180, 3 * i + 1), "max_tokens": 100 + (i * 53) % 120,
                     "temperature": 0, "ignore_eos": True, "seed": i})
    return reqs


def write(path, reqs):
    with open(path, "w") as f:
        for r in reqs:
            f.write(json.dumps(r) + "\n")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def choice_key(c):
    return (c["token_ids"], c["text"], c["finish_reason"], c["stop_reason"])


def same(a_path, b_paths):
    a = load(a_path)
    if len(b_paths) == 1:
        b = load(b_paths[0])
    else:
        b = [load(p)[0] for p in b_paths]
    assert len(a) == len(b), "%d results against %d" % (len(a), len(b))
    for i, (x, y) in enumerate(zip(a, b)):
        assert "error" not in x and "error" not in y, (x, y)
        assert len(x["choices"]) == len(y["choices"]), i
        for cx, cy in zip(x["choices"], y["choices"]):
            if choice_key(cx) != choice_key(cy):
                sys.exit("line %d choice %d differs:\n%s\n%s" % (i + 1, cx["index"], cx, cy))


def agree(a_path, b_path):
    a, b = load(a_path), load(b_path)
    total = same_count = 0
    for i, (x, y) in enumerate(zip(a, b)):
        for cx, cy in zip(x["choices"], y["choices"]):
            total += 1
            if cx["token_ids"] == cy["token_ids"]:
                same_count += 1
                continue
            n = next((k for k, (p, q) in enumerate(zip(cx["token_ids"], cy["token_ids"])) if p != q),
                     min(len(cx["token_ids"]), len(cy["token_ids"])))
            print("line %d choice %d: first difference at token %d" % (i + 1, cx["index"], n))
    print("%d of %d choices have the same tokens" % (same_count, total))
    sys.exit(0 if same_count == total and len(a) == len(b) else 1)


def close(a, b, tol):
    return abs(a - b) <= tol * max(1.0, abs(b))


class LogprobCheck:
    """Compares lists of logprob entries ({id, logprob, top_logprobs}) of
    the same tokens; counts values, records the largest error and the
    failures."""

    def __init__(self, tol):
        self.tol, self.values, self.swaps, self.worst, self.bad = tol, 0, 0, 0.0, []

    def value(self, where, a, b):
        self.values += 1
        err = abs(a - b) / max(1.0, abs(b))
        self.worst = max(self.worst, err)
        if not close(a, b, self.tol):
            self.bad.append("%s: %.9g against %.9g" % (where, a, b))

    def entries(self, where, xs, ys):
        for k, (x, y) in enumerate(zip(xs, ys)):
            if x["id"] != y["id"]:
                return  # the tokens part here: what follows is another text
            self.value("%s token %d" % (where, k), x["logprob"], y["logprob"])
            tx, ty = x["top_logprobs"], y["top_logprobs"]
            if len(tx) != len(ty):
                self.bad.append("%s token %d: %d top entries against %d" % (where, k, len(tx), len(ty)))
                continue
            for j, (u, v) in enumerate(zip(tx, ty)):
                self.value("%s token %d top %d" % (where, k, j), u["logprob"], v["logprob"])
                if u["id"] != v["id"]:
                    self.swaps += 1

    def report(self):
        print("%d logprobs compared, largest error %.2e (of max(1, |logprob|)), %d near-tie swaps "
              "in top lists, tolerance %g" % (self.values, self.worst, self.swaps, self.tol))
        for b in self.bad[:20]:
            print("  " + b)
        sys.exit(0 if self.values > 0 and not self.bad else 1)


def logprobs(a_path, b_path, tol):
    a, b = load(a_path), load(b_path)
    chk = LogprobCheck(tol)
    for i, (x, y) in enumerate(zip(a, b)):
        for cx, cy in zip(x["choices"], y["choices"]):
            if "logprobs" in cx or "logprobs" in cy:
                chk.entries("line %d choice %d" % (i + 1, cx["index"]), cx.get("logprobs", []),
                            cy.get("logprobs", []))
    chk.report()


def logprobs_lines(a_path, b_path, tol):
    chk = LogprobCheck(tol)
    chk.entries(a_path, load(a_path), load(b_path))
    chk.report()


def engine_stats(path, kinds):
    line = next((l.strip() for l in open(path, errors="replace") if l.startswith("cuda engine:")), None)
    if line is None:
        sys.exit("no \"cuda engine:\" line in %s (LLMCC_ENGINE_STATS=1 not set?)" % path)
    print(line)
    m = re.search(r"(\d+) with penalties \((\d+) in graphs\), (\d+) with logprobs \((\d+) in graphs\); "
                  r"(\d+) logits rows copied to the host", line)
    if m is None:
        sys.exit("cannot read the counters of: " + line)
    pen, pen_graph, lp, lp_graph, to_host = (int(v) for v in m.groups())
    kinds = kinds or ["penalties", "logprobs"]
    ok = to_host == 0
    if "penalties" in kinds:
        ok = ok and pen > 0 and pen_graph > 0
    if "logprobs" in kinds:
        ok = ok and lp > 0 and lp_graph > 0
    if not ok:
        print("expected rows with %s sampled on the device, some inside replayed graphs, and no "
              "logits row copied to the host" % " and ".join(kinds))
    sys.exit(0 if ok else 1)


def generate_args(path, index, with_logprobs=False):
    r = load(path)[int(index)]
    if r.get("n", 1) != 1:
        return
    out = ["-p", r["prompt"], "-n", str(r["max_tokens"]), "--seed", str(r["seed"]),
           "--temperature", str(r.get("temperature", 0))]
    for key, flag in (("top_k", "--top-k"), ("top_p", "--top-p"), ("min_p", "--min-p"),
                      ("repetition_penalty", "--repeat-penalty"),
                      ("presence_penalty", "--presence-penalty"),
                      ("frequency_penalty", "--frequency-penalty")):
        if key in r:
            out += [flag, str(r[key])]
    for s in r.get("stop", []):
        out += ["--stop", s]
    if r.get("ignore_eos"):
        out.append("--ignore-eos")
    if with_logprobs and "logprobs" in r:
        out += ["--logprobs", str(r["logprobs"])]
    print("\0".join(out), end="")


def main():
    cmd = sys.argv[1]
    if cmd == "mixed":
        write(sys.argv[2], mixed())
    elif cmd == "long":
        write(sys.argv[2], long_requests())
    elif cmd == "split":
        for i, line in enumerate(l for l in open(sys.argv[2]) if l.strip()):
            with open("%s/%d.jsonl" % (sys.argv[3], i + 1), "w") as f:
                f.write(line)
    elif cmd == "same":
        same(sys.argv[2], sys.argv[3:])
    elif cmd == "agree":
        agree(sys.argv[2], sys.argv[3])
    elif cmd == "generate-args":
        generate_args(sys.argv[2], sys.argv[3], len(sys.argv) > 4 and sys.argv[4] == "with-logprobs")
    elif cmd == "logprobs":
        logprobs(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5)
    elif cmd == "logprobs-lines":
        logprobs_lines(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5)
    elif cmd == "engine-stats":
        engine_stats(sys.argv[2], sys.argv[3:])
    elif cmd == "ids":
        print(" ".join(str(t) for t in load(sys.argv[2])[int(sys.argv[3])]["choices"][0]["token_ids"]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
