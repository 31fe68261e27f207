#!/usr/bin/env python3
"""near_tie.py - a reduced-precision build against the float32 build of the
same model: logits within the precision's error, greedy tokens equal until
the first near-tie.

usage: near_tie.py --ref F32_EXE --test LOW_EXE [--n 200] [--ids "1 2 3"]...
       [--hf MODEL_DIR --hf-dtype bfloat16]

For each prompt (token ids, no BOS added):
  1. the f32 build generates n greedy tokens: the sequence S;
  2. both builds score S teacher-forced (`generate -n 0 --dump-logits`), so
     the two logit sets are taken at the same positions;
  3. E = the largest |low - f32| over every logit of every position of S;
  4. the low build generates its own n greedy tokens; at the first position p
     where they differ from S, the f32 logits' top-2 gap there must be at
     most 2E (the two runs may rank a pair that close either way; anything
     wider is a bug). Positions before p must agree exactly by construction.
With --hf, transformers runs the same model in float32 and in --hf-dtype on
S (teacher-forced) and prints that naive error beside E: the low build must
stay within it (E <= naive). Exit status 1 on any violation.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"near_tie: {' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-400:]}")
    return p.stdout


def greedy(exe, ids, n):
    out = run([exe, "generate", "--ids", " ".join(map(str, ids)), "--no-bos", "-n", str(n),
               "--temperature", "0", "--ignore-eos", "--print-ids"])
    for line in out.splitlines():
        if line.startswith("ids:"):
            return [int(x) for x in line[4:].split()]
    sys.exit(f"near_tie: no ids line from {exe}")


def scored(exe, seq, tmp):
    path = os.path.join(tmp, "logits.bin")
    run([exe, "generate", "--ids", " ".join(map(str, seq)), "--no-bos", "-n", "0", "--dump-logits", path])
    a = np.fromfile(path, "<f4")
    return a.reshape(len(seq), -1)


def hf_logits(model_dir, seq, dtype):
    import torch
    from transformers import AutoModelForCausalLM
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    m = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=getattr(torch, dtype)).to(dev).eval()
    with torch.no_grad():
        out = m(torch.tensor([seq], device=dev)).logits[0].float().cpu().numpy()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="float32 build")
    ap.add_argument("--test", required=True, help="bf16 or f16 build")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--ids", action="append", help="prompt token ids (repeatable)")
    ap.add_argument("--hf", help="Hugging Face model folder for the naive error")
    ap.add_argument("--hf-dtype", default="bfloat16")
    a = ap.parse_args()
    prompts = [[int(x) for x in s.split()] for s in (a.ids or ["1 80 147 201 282 215 286 598 629 10",
                                                               "1 2 3 4 5 6 7 8", "7 100 1000 33 12"])]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for ids in prompts:
            gen_ref = greedy(a.ref, ids, a.n)
            seq = ids + gen_ref
            lr = scored(a.ref, seq, tmp)
            lt = scored(a.test, seq, tmp)
            if lr.shape != lt.shape:
                sys.exit(f"near_tie: logit shapes differ {lr.shape} vs {lt.shape}")
            # the teacher-forced f32 argmax must reproduce the f32 generation
            am = lr[len(ids) - 1:-1].argmax(axis=1).tolist()
            if am != gen_ref:
                print(f"FAIL prompt {ids[:4]}...: f32 scoring does not reproduce its own greedy ids")
                bad += 1
                continue
            E = float(np.abs(lt - lr).max())
            scale = float(np.abs(lr).max())
            gen_test = greedy(a.test, ids, a.n)
            p = next((i for i in range(a.n) if gen_test[i] != gen_ref[i]), None)
            msg = f"prompt {' '.join(map(str, ids[:5]))}...: E = {E:.3e} ({E / scale:.2e} of max |logit|)"
            if a.hf:
                naive = float(np.abs(hf_logits(a.hf, seq, a.hf_dtype) - hf_logits(a.hf, seq, "float32")).max())
                msg += f", naive {a.hf_dtype} error {naive:.3e}"
                if E > naive:
                    msg += " EXCEEDS NAIVE"
                    bad += 1
            if p is None:
                print(f"ok   {msg}; greedy identical for all {a.n} tokens")
                continue
            row = lr[len(ids) - 1 + p]
            top = np.sort(row)[-2:]
            gap = float(top[1] - top[0])
            ok = gap <= 2 * E
            bad += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {msg}; first difference at token {p}: "
                  f"f32 top-2 gap {gap:.3e} {'<=' if ok else '>'} 2E = {2 * E:.3e}")
    print("near_tie:", "FAILED" if bad else "passed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
