#!/usr/bin/python3
"""Golden inputs/outputs for tests/model/test_model_golden.cpp.

A compact re-statement of NeMo's FastConformer-CTC forward pass (NeMo main at commit 8cfedd7,
Sept 2025), written with Debian's python3-torch only. Each piece cites the NeMo file and line
it follows. Weights are random but fixed (seeded), pos_bias_u/v and BatchNorm statistics are
made non-trivial so that every term is exercised; everything runs in eval mode (no dropout).

Writes golden/fastconformer_<name>.pt: a plain dict with the NeMo-keyed state dict
("sd/<key>") and the inputs and outputs of each module.
Run: /usr/bin/python3 tests/model/make_model_golden.py
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

SUB = "nemo/collections/asr/parts/submodules/subsampling.py"
MHA = "nemo/collections/asr/parts/submodules/multi_head_attention.py"
CM = "nemo/collections/asr/parts/submodules/conformer_modules.py"
CE = "nemo/collections/asr/modules/conformer_encoder.py"
ASR = "nemo/collections/asr/modules/conv_asr.py"
INF_VAL = 10000.0  # MHA:52


class ConvSubsampling(nn.Module):
    """SUB:142 (dw_striding layers), SUB:725-759 (MaskedConvSequential), SUB:431 (flatten + out)."""

    def __init__(self, feat_in, d_model, factor, channels):
        super().__init__()
        n = int(math.log2(factor))
        layers = [nn.Conv2d(1, channels, 3, 2, 1), nn.ReLU()]
        for _ in range(n - 1):
            layers += [nn.Conv2d(channels, channels, 3, 2, 1, groups=channels), nn.Conv2d(channels, channels, 1), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        f = feat_in
        for _ in range(n):
            f = (f + 2 - 3) // 2 + 1  # SUB:576 calc_length
        self.out = nn.Linear(channels * f, d_model)

    def forward(self, x, lengths):
        x = x.unsqueeze(1)
        cur = lengths.clone().float()

        def mask_of(t, ln):  # SUB:755 _create_mask
            b, _, time, feats = t.shape
            m = torch.arange(time, device=t.device).expand(b, time) < ln.unsqueeze(1)
            return m.unsqueeze(-1).expand(b, time, feats).to(t.dtype)

        mask = mask_of(x, cur.long())
        for layer in self.conv:
            x = x * mask.unsqueeze(1)  # SUB:711 apply_channel_mask
            x = layer(x)
            if hasattr(layer, "stride") and layer.stride != (1, 1):
                cur = (cur + 1 + 1 - 3) // 2 + 1  # SUB:720 calculate_conv_output_size
                mask = mask_of(x, cur.long())
        x = x * mask.unsqueeze(1)
        b, c, t, f = x.size()
        return self.out(x.transpose(1, 2).reshape(b, t, -1)), cur.long()


def rel_pos_emb(t, d_model, max_len=5000, device="cpu"):
    """MHA:1015 create_pe over positions max_len-1 .. -(max_len-1) (extend_pe), sliced as MHA:1094."""
    positions = torch.arange(max_len - 1, -max_len, -1, dtype=torch.float32, device=device).unsqueeze(1)
    pe = torch.zeros(positions.size(0), d_model, device=device)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32, device=device) * -(math.log(INF_VAL) / d_model))
    pe[:, 0::2] = torch.sin(positions * div_term)
    pe[:, 1::2] = torch.cos(positions * div_term)
    pe = pe.unsqueeze(0)
    center = pe.size(1) // 2 + 1
    return pe[:, center - t: center + t - 1]


def rel_shift(x):
    """MHA:259"""
    b, h, qlen, pos_len = x.size()
    x = F.pad(x, pad=(1, 0))
    x = x.view(b, h, -1, qlen)
    return x[:, :, 1:].view(b, h, qlen, pos_len)


class RelPositionMultiHeadAttention(nn.Module):
    """MHA:212; forward_qkv MHA:104, scores MHA:347-348, forward_attention MHA:125."""

    def __init__(self, n_head, n_feat, sdpa=False):
        super().__init__()
        self.h, self.d_k, self.sdpa = n_head, n_feat // n_head, sdpa
        self.linear_q = nn.Linear(n_feat, n_feat)
        self.linear_k = nn.Linear(n_feat, n_feat)
        self.linear_v = nn.Linear(n_feat, n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)
        self.linear_pos = nn.Linear(n_feat, n_feat, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(self.h, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.zeros(self.h, self.d_k))

    def forward(self, x, mask, pos_emb):
        b = x.size(0)
        q = self.linear_q(x).view(b, -1, self.h, self.d_k)
        k = self.linear_k(x).view(b, -1, self.h, self.d_k).transpose(1, 2)
        v = self.linear_v(x).view(b, -1, self.h, self.d_k).transpose(1, 2)
        p = self.linear_pos(pos_emb).view(pos_emb.size(0), -1, self.h, self.d_k).transpose(1, 2)
        q_u = (q + self.pos_bias_u).transpose(1, 2)
        q_v = (q + self.pos_bias_v).transpose(1, 2)
        bd = rel_shift(torch.matmul(q_v, p.transpose(-2, -1)))
        if self.sdpa:  # use_pytorch_sdpa: the position scores become SDPA's additive mask
            m = mask.unsqueeze(1)
            bd = (bd[:, :, :, : k.size(-2)] / math.sqrt(self.d_k)).masked_fill(m, -INF_VAL)
            # PyTorch >= 2.0; as Sori, not on a CPU whose fused kernel has no gradient for the mask
            if hasattr(F, "scaled_dot_product_attention") and (q_u.is_cuda or not bd.requires_grad):
                out = F.scaled_dot_product_attention(q_u, k, v, attn_mask=bd)
            else:  # the same arithmetic
                out = torch.matmul(torch.softmax(torch.matmul(q_u, k.transpose(-2, -1)) / math.sqrt(self.d_k) + bd,
                                                 dim=-1), v)
            out = out.masked_fill(m.all(-1).unsqueeze(-1), 0.0)  # fully masked queries, as the explicit path
            return self.linear_out(out.transpose(1, 2).reshape(b, -1, self.h * self.d_k))
        ac = torch.matmul(q_u, k.transpose(-2, -1))
        scores = (ac + bd[:, :, :, : ac.size(-1)]) / math.sqrt(self.d_k)
        m = mask.unsqueeze(1)
        attn = torch.softmax(scores.masked_fill(m, -INF_VAL), dim=-1).masked_fill(m, 0.0)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, -1, self.h * self.d_k)
        return self.linear_out(out)


class FeedForward(nn.Module):
    """CM:366-388 (Swish == SiLU)."""

    def __init__(self, d, d_ff):
        super().__init__()
        self.linear1, self.linear2 = nn.Linear(d, d_ff), nn.Linear(d_ff, d)

    def forward(self, x):
        return self.linear2(F.silu(self.linear1(x)))


class ConvModule(nn.Module):
    """CM:236-345 with pointwise_activation 'glu_' (not in the registry, so dw dim = d_model)."""

    def __init__(self, d, k):
        super().__init__()
        self.pointwise_conv1 = nn.Conv1d(d, 2 * d, 1)
        self.depthwise_conv = nn.Conv1d(d, d, k, padding=(k - 1) // 2, groups=d)
        self.batch_norm = nn.BatchNorm1d(d)
        self.pointwise_conv2 = nn.Conv1d(d, d, 1)

    def forward(self, x, pad_mask):
        x = F.glu(self.pointwise_conv1(x.transpose(1, 2)), dim=1)
        x = x.masked_fill(pad_mask.unsqueeze(1), 0.0)
        x = self.pointwise_conv2(F.silu(self.batch_norm(self.depthwise_conv(x))))
        return x.transpose(1, 2)


class ConformerLayer(nn.Module):
    """CM:35; fc_factor 0.5 at CM:91; forward CM:160-210."""

    def __init__(self, d, h, k, sdpa=False):
        super().__init__()
        self.norm_feed_forward1 = nn.LayerNorm(d)
        self.feed_forward1 = FeedForward(d, 4 * d)
        self.norm_conv = nn.LayerNorm(d)
        self.conv = ConvModule(d, k)
        self.norm_self_att = nn.LayerNorm(d)
        self.self_attn = RelPositionMultiHeadAttention(h, d, sdpa)
        self.norm_feed_forward2 = nn.LayerNorm(d)
        self.feed_forward2 = FeedForward(d, 4 * d)
        self.norm_out = nn.LayerNorm(d)

    def forward(self, x, att_mask, pos_emb, pad_mask):
        r = x + 0.5 * self.feed_forward1(self.norm_feed_forward1(x))
        r = r + self.self_attn(self.norm_self_att(r), att_mask, pos_emb)
        r = r + self.conv(self.norm_conv(r), pad_mask)
        r = r + 0.5 * self.feed_forward2(self.norm_feed_forward2(r))
        return self.norm_out(r)


def create_masks(lengths, t):
    """CE:794-848 with full context: True marks padding."""
    pad = torch.arange(t, device=lengths.device).expand(lengths.size(0), -1) < lengths.unsqueeze(-1)
    pm = pad.unsqueeze(1).repeat([1, t, 1])
    pm = torch.logical_and(pm, pm.transpose(1, 2))
    return ~pad, ~pm


class Model(nn.Module):
    """Encoder CE:593-745 (xscale sqrt(d_model) CE:363), decoder ASR:407-468."""

    def __init__(self, feat_in, d, layers, h, k, factor, channels, vocab, xscaling=True, sdpa=False):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.pre_encode = ConvSubsampling(feat_in, d, factor, channels)
        self.encoder.layers = nn.ModuleList([ConformerLayer(d, h, k, sdpa) for _ in range(layers)])
        self.decoder = nn.Module()
        self.decoder.decoder_layers = nn.Sequential(nn.Conv1d(d, vocab + 1, 1))
        self.d, self.xscale = d, (math.sqrt(d) if xscaling else None)

    def forward(self, feats, lengths, trace):
        x, lengths = self.encoder.pre_encode(feats.transpose(1, 2), lengths)
        trace["pre_encode_out"], trace["pre_encode_lengths"] = x, lengths
        if self.xscale:
            x = x * self.xscale
        pos_emb = rel_pos_emb(x.size(1), self.d, device=x.device)
        trace["pos_emb"] = pos_emb
        pad_mask, att_mask = create_masks(lengths, x.size(1))
        for i, layer in enumerate(self.encoder.layers):
            if i == 0:
                trace["attn_in"] = layer.norm_self_att(x)
                trace["attn_out"] = layer.self_attn(trace["attn_in"], att_mask, pos_emb)
                trace["layer0_in"] = x
            x = layer(x, att_mask, pos_emb, pad_mask)
            if i == 0:
                trace["layer0_out"] = x
        enc = x.transpose(1, 2)
        trace["encoded"] = enc
        return F.log_softmax(self.decoder.decoder_layers(enc).transpose(1, 2), dim=-1), lengths


def make(name, seed, feat_in, d, layers, h, k, factor, channels, vocab, lengths, xscaling=True):
    torch.manual_seed(seed)
    model = Model(feat_in, d, layers, h, k, factor, channels, vocab, xscaling)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, RelPositionMultiHeadAttention):
                mod.pos_bias_u.normal_(0, 0.5)
                mod.pos_bias_v.normal_(0, 0.5)
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.normal_(0, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.normal_(1.0, 0.1)
                mod.bias.normal_(0, 0.1)
                mod.num_batches_tracked.fill_(7)
    model.eval()
    lengths = torch.tensor(lengths, dtype=torch.int64)
    feats = torch.randn(len(lengths), feat_in, int(lengths.max()))
    feats = feats.masked_fill(torch.arange(feats.size(2))[None, None, :] >= lengths[:, None, None], 0.0)
    trace = {}
    with torch.no_grad():
        logprobs, enc_lengths = model(feats, lengths, trace)
        shifted_in = torch.randn(2, 3, 5, 9)
        trace["rel_shift_in"], trace["rel_shift_out"] = shifted_in, rel_shift(shifted_in)
    out = {"sd/" + key: value for key, value in model.state_dict().items()}
    out.update({"features": feats, "lengths": lengths, "logprobs": logprobs, "encoded_lengths": enc_lengths})
    out.update({key: value.clone() for key, value in trace.items()})  # clones: views would save whole storages
    out["config"] = torch.tensor([feat_in, d, layers, h, k, factor, channels, vocab, int(xscaling)])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", f"fastconformer_{name}.pt")
    torch.save(out, path)
    print("wrote", path, tuple(logprobs.shape))


if __name__ == "__main__":
    make("x8", 1, feat_in=20, d=16, layers=2, h=2, k=5, factor=8, channels=8, vocab=11, lengths=[77, 50, 23])
    make("x4_noxscale", 2, feat_in=16, d=12, layers=1, h=3, k=3, factor=4, channels=4, vocab=6, lengths=[41, 30],
         xscaling=False)
