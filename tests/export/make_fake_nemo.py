#!/usr/bin/python3
"""Builds small .nemo archives the way NeMo saves one, for tests/export (no internet needed).

NeMo's SaveRestoreConnector writes a tar (gzip-compressed, or plain) holding model_config.yaml
and model_weights.ckpt = torch.save(model.state_dict()), i.e. a pickled OrderedDict (with its
`_metadata` attribute) of NeMo-keyed tensors. This is a character CTC model (EncDecCTCModel):
its vocabulary lives in the config's decoder.vocabulary. The weights come from the NeMo
restatement in tests/model/make_model_golden.py plus the preprocessor's two buffers.

Writes golden/fake_ctc.nemo (gzip), golden/fake_ctc_plain.nemo (plain tar) and
golden/fake_ctc_expected.pt (a plain dict of the same tensors, for the C++ test to compare).
Run: /usr/bin/python3 tests/export/make_fake_nemo.py
"""
import io
import os
import sys
import tarfile
from collections import OrderedDict

import torch
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model"))
import make_model_golden as nemo  # noqa: E402

VOCAB = [" ", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
D, LAYERS, HEADS, KERNEL, FACTOR, CHANNELS = 48, 2, 4, 9, 8, 16

CONFIG = f"""sample_rate: 16000
labels: {VOCAB!r}
target: nemo.collections.asr.models.ctc_models.EncDecCTCModel
preprocessor:
  _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor
  sample_rate: 16000
  normalize: per_feature
  window_size: 0.025
  window_stride: 0.01
  window: hann
  features: 80
  n_fft: 512
  log: true
  frame_splicing: 1
  dither: 1.0e-05
  pad_to: 0
  pad_value: 0.0
spec_augment:
  _target_: nemo.collections.asr.modules.SpectrogramAugmentation
  freq_masks: 2
  time_masks: 10
  freq_width: 27
  time_width: 0.05
encoder:
  _target_: nemo.collections.asr.modules.ConformerEncoder
  feat_in: 80
  feat_out: -1
  n_layers: {LAYERS}
  d_model: {D}
  subsampling: dw_striding
  subsampling_factor: {FACTOR}
  subsampling_conv_channels: {CHANNELS}
  causal_downsampling: false
  ff_expansion_factor: 4
  self_attention_model: rel_pos
  n_heads: {HEADS}
  att_context_size: [-1, -1]
  xscaling: true
  untie_biases: true
  pos_emb_max_len: 5000
  conv_kernel_size: {KERNEL}
  conv_norm_type: batch_norm
  dropout: 0.1
  dropout_pre_encoder: 0.1
  dropout_emb: 0.0
  dropout_att: 0.1
decoder:
  _target_: nemo.collections.asr.modules.ConvASRDecoder
  feat_in: {D}
  num_classes: {len(VOCAB)}
  vocabulary: {VOCAB!r}
optim:
  name: adamw
  lr: 0.001
"""


def main():
    torch.manual_seed(7)
    model = nemo.Model(80, D, LAYERS, HEADS, KERNEL, FACTOR, CHANNELS, len(VOCAB))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(123)
    sd = OrderedDict()
    sd["preprocessor.featurizer.window"] = torch.hann_window(400, periodic=False)
    sd["preprocessor.featurizer.fb"] = torchaudio.functional.melscale_fbanks(
        257, 0.0, 8000.0, 80, 16000, norm="slaney", mel_scale="slaney").T.unsqueeze(0).contiguous()
    sd.update(model.state_dict())  # an OrderedDict with _metadata, as NeMo's state_dict()
    sd._metadata = model.state_dict()._metadata
    weights = io.BytesIO()
    torch.save(sd, weights)
    out = os.path.join(HERE, "golden")
    os.makedirs(out, exist_ok=True)
    for name, mode in (("fake_ctc.nemo", "w:gz"), ("fake_ctc_plain.nemo", "w")):
        with tarfile.open(os.path.join(out, name), mode) as tar:
            for member, data in (("./model_config.yaml", CONFIG.encode()), ("./model_weights.ckpt", weights.getvalue())):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    torch.save({k: v.clone() for k, v in sd.items()}, os.path.join(out, "fake_ctc_expected.pt"))
    print("wrote", out, len(sd), "tensors")


if __name__ == "__main__":
    main()
