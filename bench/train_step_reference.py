#!/usr/bin/python3
"""PyTorch-eager reference for sori_bench (bench/train_step.cpp): the same FastConformer-CTC
(the NeMo restatement in tests/model/make_model_golden.py) with Sori's weights, doing the same
work per step: log-mel features from audio (as Sori computes them: float64 inside, dither in
training), SpecAugment with NeMo's semantics, forward, CTC (sum over utterances / target tokens),
backward, clipping of the global norm, AdamW. Dropout is off on both sides (bench/compare_step.sh
sets it to 0 for Sori; the restatement has none).

`sori_bench --write-reference DIR` writes what this script reads: DIR/spec.json (model, features,
SpecAugment, optimiser), DIR/weights.pt (NeMo-keyed, as `sori export --format nemo-state-dict`)
and DIR/parity.pt (audio and Sori's eval-mode log-probs).

  --parity-only   check that our forward gives Sori's log-probs (<= 1e-4, fp32, TF32 off); exit 1 if not
  otherwise       time --warmup + --steps training steps; prints one JSON line

Model FLOPs per step (PyTorch >= 2.1, torch.utils.flop_counter): 3x the matmul and convolution
FLOPs of one forward at the timed shapes (backward costs about twice the forward); the same work
for Sori, so compare_step.sh divides it by both sides' times. With --peak-tflops, "mfu" is
achieved / peak.
"""
import argparse
import contextlib
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "model"))
import make_model_golden as nemo  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--reference", required=True, help="directory written by sori_bench --write-reference")
p.add_argument("--parity-only", action="store_true")
p.add_argument("--batch", type=int, default=12)
p.add_argument("--seconds", type=float, default=2.5)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--threads", type=int, default=0)
p.add_argument("--device", default="cpu")
p.add_argument("--precision", default="32", choices=["32", "bf16"])
p.add_argument("--compile", action="store_true", help="time the model under torch.compile (PyTorch >= 2.0)")
p.add_argument("--peak-tflops", type=float, default=0.0,
               help="the device's dense peak for this precision: reports model FLOPs utilisation")
p.add_argument("--profile", help="write a Chrome trace of the timed steps (bench/trace_summary.py reads it)")
a = p.parse_args()
if a.threads > 0:
    torch.set_num_threads(a.threads)
if (torch.get_num_threads() >= max(2, len(os.sched_getaffinity(0))) and "OPENBLAS_NUM_THREADS" not in os.environ
        and "GOTO_NUM_THREADS" not in os.environ):
    # As Sori (src/core/cpu_threads.cpp): when the intra-op threads fill every CPU, a pthreads
    # OpenBLAS runs on the calling thread rather than oversubscribe them with a pool of its own.
    # RTLD_NOLOAD: only the OpenBLAS this torch already uses (none in PyTorch's MKL wheels).
    try:
        openblas = ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD)
        if openblas.openblas_get_parallel() == 1:
            openblas.openblas_set_num_threads(1)
    except (OSError, AttributeError):
        pass
dev = torch.device(a.device)
spec = json.load(open(os.path.join(a.reference, "spec.json")))
if any(spec["dropout"]):
    sys.exit("reference: Sori's dropout is on (%s) but this restatement has none: time both without" % spec["dropout"])

# Written by LibTorch's pickler: plain tensors, but newer torch.load defaults to weights_only.
weights = torch.load(os.path.join(a.reference, "weights.pt"), weights_only=False)
window = weights.pop("preprocessor.featurizer.window").to(dev, torch.float64)
fb = weights.pop("preprocessor.featurizer.fb").to(dev, torch.float64).reshape(spec["features"], -1)
model = nemo.Model(spec["features"], spec["d_model"], spec["n_layers"], spec["n_heads"], spec["conv_kernel_size"],
                   spec["subsampling_factor"], spec["subsampling_conv_channels"], spec["vocab"], spec["xscaling"],
                   spec.get("use_pytorch_sdpa", False))
assert spec["ff_expansion_factor"] == 4, "the restatement has d_ff = 4 d_model"
missing, unexpected = model.load_state_dict(weights, strict=False)
unexpected = [k for k in unexpected if not k.endswith("num_batches_tracked")]
if missing or unexpected:
    sys.exit(f"reference: weights do not fit the restatement: missing {missing}, unexpected {unexpected}")
model.to(dev)

sr = spec["sample_rate"]
hop, win = int(spec["window_stride"] * sr), int(spec["window_size"] * sr)


def features(audio, lengths, training):
    """Sori's LogMelFeatures (src/features/log_mel.cpp), NeMo's FilterbankFeatures in float64."""
    with torch.no_grad():
        frames = torch.div(lengths, hop, rounding_mode="floor")
        x = audio.double()
        if training and spec["dither"] > 0:
            x = x + spec["dither"] * torch.randn_like(x)
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
        if spec["preemph"] > 0:
            x = torch.cat((x[:, :1], x[:, 1:] - spec["preemph"] * x[:, :-1]), dim=1).masked_fill(~valid, 0.0)
        s = torch.stft(x, spec["n_fft"], hop, win, window, center=True, pad_mode="constant", return_complex=True)
        mel = torch.log(torch.matmul(fb, s.abs().pow(2)) + spec["log_zero_guard_value"])
        m = (torch.arange(mel.shape[2], device=x.device)[None, :] < frames[:, None])[:, None, :]
        n = frames[:, None].double()
        mean = torch.where(m, mel, torch.zeros((), dtype=mel.dtype, device=x.device)).sum(2) / n
        var = torch.where(m, mel - mean[:, :, None], torch.zeros((), dtype=mel.dtype, device=x.device)).pow(2).sum(2)
        std = torch.sqrt(var / (n - 1.0))
        std = std.masked_fill(std.isnan(), 0.0) + 1e-5
        return ((mel - mean[:, :, None]) / std[:, :, None]).masked_fill(~m, 0.0).float(), frames


def spec_augment(x, frames):
    """NeMo's SpecAugment semantics as Sori draws them (include/sori/features/spec_augment.h)."""
    b, nf, _ = x.shape
    f_idx = torch.arange(nf, device=x.device)[None, None, :]
    t_idx = torch.arange(x.shape[2], device=x.device)[None, None, :]
    fw = torch.randint(0, spec["freq_width"] + 1, (b, spec["freq_masks"], 1), device=x.device)
    f0 = torch.randint(0, nf - spec["freq_width"] + 1, (b, spec["freq_masks"], 1), device=x.device)
    freq = ((f_idx >= f0) & (f_idx < f0 + fw)).any(1)
    L = frames.view(b, 1, 1)
    w = (L.double() * spec["time_width"]).long().clamp(min=1) if spec["time_width_is_fraction"] \
        else torch.full_like(L, int(spec["time_width"]))
    u = torch.rand((b, spec["time_masks"], 1), device=x.device)
    tw = (u * (w + 1)).long()
    t0 = (torch.rand((b, spec["time_masks"], 1), device=x.device) * ((L - w).clamp(min=1) + 1)).long()
    time_mask = ((t_idx >= t0) & (t_idx < torch.minimum(t0 + tw, L))).any(1)
    return x.masked_fill(freq[:, :, None] | time_mask[:, None, :], 0.0)


if a.parity_only:
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    ref = torch.load(os.path.join(a.reference, "parity.pt"), weights_only=False)
    model.eval()
    with torch.no_grad():
        feats, frames = features(ref["audio"].to(dev), ref["lengths"].to(dev), False)
        lp, enc_len = model(feats, frames, {})
    diff = (lp.float().cpu() - ref["log_probs"]).abs().max().item()
    same_lengths = torch.equal(enc_len.cpu(), ref["enc_lengths"])
    print(json.dumps({"parity_max_abs_diff": diff, "encoder_lengths_equal": same_lengths}))
    sys.exit(0 if diff <= 1e-4 and same_lengths else 1)

if dev.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = True  # as Sori does for fp32 on CUDA
torch.manual_seed(0)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=tuple(spec["betas"]), weight_decay=spec["weight_decay"],
                        eps=spec["eps"])
samples = int(a.seconds * sr)
audio = torch.randn(a.batch, samples) * 0.1  # host tensors, as Sori's loader hands them over
lengths = torch.full((a.batch,), samples, dtype=torch.int64)
u = max(1, samples // hop // spec["subsampling_factor"] // 3)
tokens = torch.randint(0, spec["vocab"], (a.batch, u))
tlen = torch.full((a.batch,), u, dtype=torch.int64)
step_flops = None
try:
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        f, fr = features(audio.to(dev), lengths.to(dev), False)
        model(f, fr, {})
    step_flops = 3 * counter.get_total_flops()
except ImportError:
    pass
if a.compile:
    model = torch.compile(model)
# torch.autocast("cuda", enabled=False) still asks a CPU-only torch for CUDA bf16 support.
autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if a.precision == "bf16" else contextlib.nullcontext
times = []
profiler = torch.autograd.profiler.profile(enabled=bool(a.profile))
for i in range(a.warmup + a.steps):
    if i == a.warmup:
        profiler.__enter__()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=False)
    x, xl = audio.to(dev, non_blocking=True), lengths.to(dev, non_blocking=True)
    y, yl = tokens.to(dev, non_blocking=True), tlen.to(dev, non_blocking=True)
    feats, frames = features(x, xl, True)
    feats = spec_augment(feats, frames)
    with autocast():
        lp, enc_len = model(feats, frames, {})
    loss = F.ctc_loss(lp.float().transpose(0, 1), y, enc_len, yl, blank=spec["vocab"], reduction="none",
                      zero_infinity=True).sum() / yl.sum()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), spec["gradient_clip_val"])
    opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    if i >= a.warmup:
        times.append(time.perf_counter() - t0)
profiler.__exit__(None, None, None)
if a.profile:
    profiler.export_chrome_trace(a.profile)
assert math.isfinite(loss.item())
row = {"side": "compiled" if a.compile else "eager", "device": a.device, "precision": a.precision,
       "batch": a.batch, "seconds": a.seconds, "median_s": statistics.median(times), "min_s": min(times),
       "max_s": max(times), "steps": a.steps, "step_flops": step_flops}
if step_flops and a.peak_tflops > 0:
    row["mfu"] = step_flops / row["median_s"] / (a.peak_tflops * 1e12)
print(json.dumps(row))
