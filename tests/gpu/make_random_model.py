#!/usr/bin/env python3
"""Writes a random-weight Hugging Face model of a real shape, for GPU tests
and benchmarks (no download: weights are drawn here, on the GPU if there is
one). Optionally records Hugging Face transformers' logits for a fixed id
sequence, so the compiled model can be compared with it.

  make_random_model.py --shape llama-3.2-1b --out /tmp/m1b [--ref-ids 16]

Shapes: llama-3.2-1b, llama-3.1-8b, qwen2-7b (DeepSeek-R1-Distill-Qwen-7B),
tiny-llama (a small one for smoke tests). Weights are bf16, normal(0, 0.02)
for matrices and 1 + normal(0, 0.02) for norm gains, seeded. The tokenizer is
the bundled TinyStories one with its vocabulary padded to the model's by
tokens no merge produces (so every id has text); benchmarks feed synthetic
ids.

With --ref-ids N: runs transformers (eager attention, on cuda when
available) on N fixed ids, in bf16 and in float32 on the same weights, and
writes ref-ids.txt, ref-logits.bin (bf16 run) and ref-logits-f32.bin
(float32 run), float32 [N][vocab], into the model folder.
"""
import argparse
import json
import os
import shutil

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "fixtures", "models", "tinystories-656k")

SHAPES = {
    "llama-3.2-1b": dict(arch="LlamaForCausalLM", model_type="llama", hidden_size=2048,
                         intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                         num_key_value_heads=8, head_dim=64, vocab_size=128256,
                         rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072,
                         tie_word_embeddings=True,
                         rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 8192}),
    "llama-3.1-8b": dict(arch="LlamaForCausalLM", model_type="llama", hidden_size=4096,
                         intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=8, head_dim=128, vocab_size=128256,
                         rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072,
                         tie_word_embeddings=False,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 8192}),
    "qwen2-7b": dict(arch="Qwen2ForCausalLM", model_type="qwen2", hidden_size=3584,
                     intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                     num_key_value_heads=4, head_dim=128, vocab_size=152064, rope_theta=10000.0,
                     rms_norm_eps=1e-6, max_position_embeddings=131072, tie_word_embeddings=False,
                     rope_scaling=None),
    "tiny-llama": dict(arch="LlamaForCausalLM", model_type="llama", hidden_size=256,
                       intermediate_size=704, num_hidden_layers=3, num_attention_heads=8,
                       num_key_value_heads=2, head_dim=32, vocab_size=4096, rope_theta=10000.0,
                       rms_norm_eps=1e-5, max_position_embeddings=2048, tie_word_embeddings=False,
                       rope_scaling=None),
}


def tensors(s, dev, gen):
    H, I, V = s["hidden_size"], s["intermediate_size"], s["vocab_size"]
    nh, nkv, hd = s["num_attention_heads"], s["num_key_value_heads"], s["head_dim"]

    def mat(r, c):
        return (torch.randn(r, c, generator=gen, device=dev) * 0.02).to(torch.bfloat16)

    def gain(n):
        return (1 + torch.randn(n, generator=gen, device=dev) * 0.02).to(torch.bfloat16)

    out = {"model.embed_tokens.weight": mat(V, H), "model.norm.weight": gain(H)}
    if not s["tie_word_embeddings"]:
        out["lm_head.weight"] = mat(V, H)
    for l in range(s["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out[p + "input_layernorm.weight"] = gain(H)
        out[p + "post_attention_layernorm.weight"] = gain(H)
        out[p + "self_attn.q_proj.weight"] = mat(nh * hd, H)
        out[p + "self_attn.k_proj.weight"] = mat(nkv * hd, H)
        out[p + "self_attn.v_proj.weight"] = mat(nkv * hd, H)
        out[p + "self_attn.o_proj.weight"] = mat(H, nh * hd)
        out[p + "mlp.gate_proj.weight"] = mat(I, H)
        out[p + "mlp.up_proj.weight"] = mat(I, H)
        out[p + "mlp.down_proj.weight"] = mat(H, I)
        if s["model_type"] == "qwen2":
            for w, n in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
                out[p + f"self_attn.{w}_proj.bias"] = (torch.randn(n, generator=gen, device=dev) * 0.02).to(torch.bfloat16)
    return out


def save_sharded(ts, out_dir, shard_bytes=4 << 30):
    shards, cur, size = [], {}, 0
    for k in sorted(ts):
        n = ts[k].numel() * 2
        if cur and size + n > shard_bytes:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = ts[k].cpu()
        size += n
    shards.append(cur)
    index = {"metadata": {"total_size": sum(t.numel() * 2 for t in ts.values())}, "weight_map": {}}
    for i, sh in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(sh, os.path.join(out_dir, name), metadata={"format": "pt"})
        for k in sh:
            index["weight_map"][k] = name
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=1)


def write_config(s, out_dir):
    cfg = {k: v for k, v in s.items() if k != "arch"}
    cfg.update(architectures=[s["arch"]], hidden_act="silu", torch_dtype="bfloat16", bos_token_id=1,
               eos_token_id=2, attention_bias=s["model_type"] == "qwen2")
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": 2}, f)
    shutil.copy(os.path.join(TOKENIZER, "tokenizer_config.json"), os.path.join(out_dir, "tokenizer_config.json"))
    # The TinyStories tokenizer, its vocabulary padded to the model's with
    # tokens "▁w<id>" that no merge produces: every id the model can pick
    # then has text (a served stream of a random model is not empty), and
    # encoding is unchanged.
    with open(os.path.join(TOKENIZER, "tokenizer.json")) as f:
        tok = json.load(f)
    vocab = tok["model"]["vocab"]
    for i in range(len(vocab), cfg["vocab_size"]):
        vocab["\u2581w%d" % i] = i
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)


def reference(out_dir, n, vocab, dev):
    """HF logits twice on the same weights: bf16 end to end (what the issue
    names), and float32 (the bf16 weight values upcast: the maths llmcc
    does). Their difference is the error bf16 arithmetic shows naively."""
    from transformers import AutoModelForCausalLM
    ids = [(i * 2654435761 + 12345) % 2048 for i in range(n)]
    with open(os.path.join(out_dir, "ref-ids.txt"), "w") as f:
        f.write(" ".join(map(str, ids)) + "\n")
    for dtype, name in ((torch.bfloat16, "ref-logits.bin"), (torch.float32, "ref-logits-f32.bin")):
        m = AutoModelForCausalLM.from_pretrained(out_dir, dtype=dtype,
                                                 attn_implementation="eager").to(dev).eval()
        with torch.no_grad():
            logits = m(torch.tensor([ids], device=dev)).logits[0].float().cpu()
        assert logits.shape == (n, vocab)
        logits.numpy().astype("<f4").tofile(os.path.join(out_dir, name))
        del m
        if dev == "cuda":
            torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ref-ids", type=int, default=0)
    a = ap.parse_args()
    s = SHAPES[a.shape]
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(a.out, exist_ok=True)
    gen = torch.Generator(device=dev).manual_seed(a.seed)
    save_sharded(tensors(s, dev, gen), a.out)
    write_config(s, a.out)
    if a.ref_ids:
        reference(a.out, a.ref_ids, s["vocab_size"], dev)
    print(f"wrote {a.shape} to {a.out}")


if __name__ == "__main__":
    main()
