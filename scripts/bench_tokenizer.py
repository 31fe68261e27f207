#!/usr/bin/env python3
"""Tokenizer throughput: llmcc vs Hugging Face `tokenizers`, same run.

Input: all of tests/fixtures/eval/wiki.test.raw (WikiText-2 test split),
encoded one line at a time (cut at "\\n", as tests/e2e/test_tokenize_wiki.sh
does), no special tokens. Both sides encode every line once as a warm-up
(HF's BPE word cache and ours fill up), then time one more full pass;
llmcc times only the encode loop inside the process (`--bench`), HF only
the Python loop over `Tokenizer.encode`. HF runs single-threaded
(TOKENIZERS_PARALLELISM=false; encode() of one string never fans out).
Tokenizers: tinystories (SentencePiece-style BPE, the bundled tokenizer.json)
and SmolLM2 (byte-level BPE; HF side built from the same vocab and merges as
its tokenizer.json: Digits(individual_digits) + ByteLevel). The best of
--repeat runs is reported for each side.
Usage: scripts/bench_tokenizer.py [--llmcc build-rel/llmcc] [--repeat 3]
"""
import argparse, json, os, re, subprocess, sys, time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WIKI = os.path.join(REPO, "tests/fixtures/eval/wiki.test.raw")
TINY = os.path.join(REPO, "tests/fixtures/models/tinystories-656k")
SMOL = os.path.join(REPO, "tests/fixtures/tok/smollm2-tokenizer.json")


def hf_smollm2():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    meta = json.load(open(SMOL, encoding="utf-8"))["meta"]
    vocab = {t: i for i, t in enumerate(meta["tokenizer.ggml.tokens"])}
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    return tok


def hf_mbps(tok, lines, nbytes, repeat):
    for s in lines:
        tok.encode(s, add_special_tokens=False)
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        for s in lines:
            tok.encode(s, add_special_tokens=False)
        best = max(best, nbytes / (time.perf_counter() - t0) / 1e6)
    return best


def llmcc_mbps(llmcc, path, repeat):
    best = 0.0
    for _ in range(repeat):
        with open(WIKI, "rb") as f:
            r = subprocess.run([llmcc, "tokenize", path, "--lines", "--no-bos", "--bench"],
                               stdin=f, capture_output=True, text=True, check=True)
        best = max(best, float(re.search(r"([0-9.]+) MB/s", r.stderr).group(1)))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmcc", default=os.path.join(REPO, "build-rel/llmcc"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from tokenizers import Tokenizer
    data = open(WIKI, "rb").read()
    lines = data.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    nbytes = len(data)
    print("input: %s, %d bytes, %d lines (one text per line)" % (WIKI, nbytes, len(lines)))
    print("%-12s %12s %12s %8s" % ("tokenizer", "llmcc MB/s", "HF MB/s", "ratio"))
    hf = {"tinystories": Tokenizer.from_file(os.path.join(TINY, "tokenizer.json")),
          "smollm2": hf_smollm2()}
    paths = {"tinystories": TINY, "smollm2": SMOL}
    for name in ("tinystories", "smollm2"):
        ours = llmcc_mbps(a.llmcc, paths[name], a.repeat)
        theirs = hf_mbps(hf[name], lines, nbytes, a.repeat)
        print("%-12s %12.2f %12.2f %7.2fx" % (name, ours, theirs, ours / theirs))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
