#!/usr/bin/python3
"""PyTorch-eager reference for bench/train_step.cpp: the same FastConformer-CTC (the NeMo
restatement in tests/model/make_model_golden.py, in training mode with dropout 0.1) on the same
synthetic batch, starting from features; CTC mean_volume, backward, clipping, AdamW.
Usage: /usr/bin/python3 bench/train_step_reference.py --d-model 96 --layers 4 --heads 4 \
           --factor 4 --channels 96 --batch 12 --seconds 2.5 [--device cpu] [--threads N]"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "model"))
import make_model_golden as nemo  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--d-model", type=int, default=96)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--factor", type=int, default=4)
p.add_argument("--channels", type=int, default=96)
p.add_argument("--kernel", type=int, default=9)
p.add_argument("--vocab", type=int, default=28)
p.add_argument("--batch", type=int, default=12)
p.add_argument("--seconds", type=float, default=2.5)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--threads", type=int, default=0)
p.add_argument("--device", default="cpu")
p.add_argument("--precision", default="32", choices=["32", "bf16"])
a = p.parse_args()
if a.device == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = True  # as Sori does for fp32 on CUDA
if a.threads > 0:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)
dev = torch.device(a.device)
model = nemo.Model(80, a.d_model, a.layers, a.heads, a.kernel, a.factor, a.channels, a.vocab).to(dev).train()
drop = torch.nn.Dropout(0.1)
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), weight_decay=1e-3)
frames = int(a.seconds * 16000) // 160
feats = torch.randn(a.batch, 80, frames + 1, device=dev)
lengths = torch.full((a.batch,), frames, dtype=torch.int64, device=dev)
u = max(1, frames // a.factor // 3)
tokens = torch.randint(0, a.vocab, (a.batch, u), device=dev)
tlen = torch.full((a.batch,), u, dtype=torch.int64, device=dev)
times = []
for i in range(a.warmup + a.steps):
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    opt.zero_grad()
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
        lp, enc_len = model(feats, lengths, {})
    loss = torch.nn.functional.ctc_loss(lp.float().transpose(0, 1), tokens, enc_len, tlen, blank=a.vocab,
                                        reduction="none", zero_infinity=True).sum() / tlen.sum()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    if i >= a.warmup:
        times.append(time.perf_counter() - t0)
print(f"PyTorch eager device {a.device} precision {a.precision} batch {a.batch} x {a.seconds:.1f} s: median step {statistics.median(times):.4f} s "
      f"(min {min(times):.4f}, max {max(times):.4f}, {a.steps} steps)")
