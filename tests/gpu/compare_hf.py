#!/usr/bin/env python3
"""Compares our logits (float32 [N][vocab] file) with the transformers
reference that make_random_model.py --ref-ids wrote into the model folder.
Transformers runs the model in bf16 end to end; ours reads bf16 weights and
computes in float32, so the difference is bf16 activation rounding: the
tolerance is 5e-2 relative to the largest logit (measured: see
docs/performance.md), and argmax agreement is reported.
usage: compare_hf.py MODEL_DIR OURS.bin"""
import sys
import numpy as np

model, ours = sys.argv[1], sys.argv[2]
ref = np.fromfile(f"{model}/ref-logits.bin", "<f4")
got = np.fromfile(ours, "<f4")
n = len(open(f"{model}/ref-ids.txt").read().split())
ref, got = ref.reshape(n, -1), got.reshape(n, -1)
rel = float(np.abs(ref - got).max() / np.abs(ref).max())
agree = float((ref.argmax(1) == got.argmax(1)).mean())
ok = rel <= 5e-2
print(f"{'ok' if ok else 'FAIL'} vs transformers bf16: max relative error {rel:.2e}, argmax agreement {agree:.2f}")
sys.exit(0 if ok else 1)
