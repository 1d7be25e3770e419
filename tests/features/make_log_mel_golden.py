#!/usr/bin/python3
"""Golden log-mel features for tests/features/test_log_mel.cpp, computed with Debian's
torchaudio configured as NeMo's FilterbankFeatures (nemo/collections/asr/parts/preprocessing/
features.py): symmetric Hann window (torchaudio's default is periodic), centred STFT with zero
padding (its default is reflect), power 2, slaney mel scale and norm, log(x + 2^-24),
per-feature normalisation over valid frames, frames past len // hop zeroed. No dither (eval).

Run: /usr/bin/python3 tests/features/make_log_mel_golden.py  (writes golden/log_mel.pt)
"""
import os

import torch
import torchaudio

SR, N_FFT, HOP, WIN, MELS = 16000, 512, 160, 400, 80

torch.manual_seed(0)
lengths = torch.tensor([16000, 12345, 4007], dtype=torch.int64)
t = torch.arange(16000, dtype=torch.float64) / SR
audio = torch.zeros(3, 16000, dtype=torch.float64)
for b, (f0, amp) in enumerate([(220.0, 0.3), (587.0, 0.1), (1500.0, 0.5)]):
    sig = amp * torch.sin(2 * torch.pi * f0 * t) + 0.02 * torch.randn(16000, dtype=torch.float64)
    audio[b, : lengths[b]] = sig[: lengths[b]]
audio = audio.float()

# The reference is computed in float64 (from the float32 audio), as Sori computes features.
x = audio.double()
# Preemphasis 0.97, then zero every sample at or past each length.
x = torch.cat((x[:, :1], x[:, 1:] - 0.97 * x[:, :-1]), dim=1)
x = x.masked_fill(torch.arange(x.shape[1])[None, :] >= lengths[:, None], 0.0)

spectrogram = torchaudio.transforms.Spectrogram(
    n_fft=N_FFT, win_length=WIN, hop_length=HOP, window_fn=torch.hann_window,
    wkwargs={"periodic": False, "dtype": torch.float64}, center=True, pad_mode="constant", power=2.0)
power = spectrogram(x)  # [B, 257, frames]
fb = torchaudio.functional.melscale_fbanks(
    N_FFT // 2 + 1, 0.0, SR / 2, MELS, SR, norm="slaney", mel_scale="slaney")  # [257, 80], float32
# Sori's filterbank buffer is float32 (NeMo's state-dict entry), used in float64.
mel = torch.matmul(fb.double().T, power)
mel = torch.log(mel + 2.0 ** -24)

frames = lengths // HOP
valid = torch.arange(mel.shape[2])[None, :] < frames[:, None]
m = valid[:, None, :]
mean = torch.where(m, mel, torch.zeros(())).sum(2) / frames[:, None]
std = torch.sqrt(torch.where(m, mel - mean[:, :, None], torch.zeros(())).pow(2).sum(2) / (frames[:, None] - 1.0))
std = std.masked_fill(std.isnan(), 0.0) + 1e-5
feats = (mel - mean[:, :, None]) / std[:, :, None]
feats = feats.masked_fill(~m, 0.0)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "log_mel.pt")
torch.save({"audio": audio, "lengths": lengths, "features": feats.float().contiguous(), "frames": frames,
            "fb": fb.T.contiguous()}, out)
print("wrote", out, tuple(feats.shape))
