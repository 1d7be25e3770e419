// The one list of config keys. Each visit_fields names every key of a struct once, with its
// meaning: the YAML reader and writer (yaml_io.h) walk these lists to load, validate and print,
// and config_reference.cpp walks them to write docs/CONFIG.md, so a key added here is loaded,
// validated, printed and documented with no other change. A visitor is called as
// v(key, field, meaning) for every field, a nested struct included (its meaning introduces its
// section). A meaning is one line of Markdown, shown in a table cell of docs/CONFIG.md
// (regenerate it with `sori config docs --output docs/CONFIG.md` after changing this file).
#pragma once

#include "sori/config/config.h"

namespace sori::schema {

template <class V> void visit_fields(V& v, DatasetConfig& c) {
  v("manifest_filepath", c.manifest_filepath,
    "NeMo-format JSON-lines manifests (`audio_filepath`, `duration`, `text`, optional `offset`): a YAML list or "
    "one comma-separated string");
  v("batch_duration", c.batch_duration,
    "Seconds of audio per batch (sum of the utterances' durations, before padding); 0: fixed `batch_size` "
    "(validation: 120 s when both are 0)");
  v("batch_size", c.batch_size,
    "Utterances per batch when `batch_duration` is 0 (validation: whenever it is set)");
  v("num_buckets", c.num_buckets,
    "Training: equal-count duration buckets the sampler sorts utterances into, so a batch holds similar "
    "lengths (validation uses 4)");
  v("min_duration", c.min_duration, "Utterances shorter than this many seconds are dropped (and counted)");
  v("max_duration", c.max_duration, "Utterances longer than this many seconds are dropped (and counted)");
  v("shuffle", c.shuffle,
    "Shuffle within buckets and across batches each epoch, seeded by (seed, epoch); training only");
  v("num_workers", c.num_workers,
    "Loader threads (decode, resample, augment, tokenize); 0 loads on the training thread (validation uses "
    "at least 1)");
  v("prefetch_batches", c.prefetch_batches, "Training: batches the loader threads may prepare ahead (>= 1)");
  v("skip_invalid", c.skip_invalid,
    "Count, report and skip missing, unreadable or untranscribable utterances instead of refusing to start");
  v("drop_infeasible", c.drop_infeasible,
    "Training: drop utterances CTC cannot align at the fastest speed factor (more labels than encoder frames; "
    "see `sori data check`)");
}

template <class V> void visit_fields(V& v, TokenizerConfig& c) {
  v("type", c.type, "`char`, `sentencepiece` (BPE or unigram) or `jamo` (Korean syllables as conjoining jamo)");
  v("dir", c.dir,
    "Folder holding `vocab.txt` (char, jamo) or `tokenizer.model` (sentencepiece); a char or jamo vocabulary "
    "missing there is built from the training manifests");
  v("vocab_size", c.vocab_size,
    "Recorded as NeMo's configs do; the size in use is that of the files in `dir` (`sori tokenizer train "
    "--vocab-size` sets it)");
}

template <class V> void visit_fields(V& v, PreprocessorConfig& c) {
  v("features", c.features, "Log-mel bands (NeMo's `features`; slaney mel scale and norm)");
  v("window_size", c.window_size, "STFT window length in seconds (0.025 = 400 samples at 16 kHz; at most `n_fft`)");
  v("window_stride", c.window_stride, "Hop between frames in seconds (0.01 = 160 samples at 16 kHz)");
  v("n_fft", c.n_fft, "FFT size of the STFT");
  v("dither", c.dither, "Gaussian noise of this standard deviation added to the waveform, in training only; 0: none");
  v("preemph", c.preemph, "Pre-emphasis coefficient (x[t] - preemph * x[t-1]); 0: none");
  v("log_zero_guard_value", c.log_zero_guard_value, "Added to mel power before the log (2^-24, NeMo's default)");
}

template <class V> void visit_fields(V& v, SpecAugmentConfig& c) {
  v("freq_masks", c.freq_masks, "Frequency bands masked per utterance (training only)");
  v("freq_width", c.freq_width, "Largest frequency mask, in mel bands");
  v("time_masks", c.time_masks, "Time spans masked per utterance");
  v("time_width", c.time_width,
    "Largest time mask: an integer counts frames, a float is a fraction of each utterance's length");
  v("mask_value", c.mask_value, "Value written into masked feature cells");
}

template <class V> void visit_fields(V& v, NoiseConfig& c) {
  v("prob", c.prob, "Probability that an utterance gets noise added; 0: no noise");
  v("snr_db", c.snr_db, "[low, high]: the signal-to-noise ratio in dB is drawn uniformly from this range");
  v("manifest_filepath", c.manifest_filepath,
    "Manifests of noise recordings (a random segment, tiled when short); empty: generated noise");
  v("color", c.color, "Generated noise: `white` or `pink` (1/f)");
}

template <class V> void visit_fields(V& v, AugmentationConfig& c) {
  v("speed_perturb", c.speed_perturb,
    "Speed factors, one drawn per batch (e.g. [0.9, 1.0, 1.1]; 1.1 shortens by 1/1.1); empty: none");
  v("noise", c.noise, "Additive noise, from recordings or generated, at a random SNR (training only).");
  v("resample_quality", c.resample_quality,
    "libsamplerate converter for resampling and speed perturbation: `sinc_best`, `sinc_medium`, "
    "`sinc_fastest` or `linear`");
}

template <class V> void visit_fields(V& v, EncoderConfig& c) {
  v("feat_in", c.feat_in, "Input features per frame; -1: `model.preprocessor.features` (any other value must equal it)");
  v("n_layers", c.n_layers, "Conformer blocks");
  v("d_model", c.d_model, "Model width (attention, feed-forward input and output, convolution channels)");
  v("n_heads", c.n_heads, "Attention heads (must divide `d_model`)");
  v("subsampling", c.subsampling, "Subsampling front end; only `dw_striding` (FastConformer's depthwise-separable convolutions)");
  v("subsampling_factor", c.subsampling_factor,
    "Time reduction of the front end, a power of two >= 2 (8: FastConformer; 4 leaves more frames for CTC)");
  v("subsampling_conv_channels", c.subsampling_conv_channels, "Channels of the subsampling convolutions");
  v("ff_expansion_factor", c.ff_expansion_factor, "Feed-forward hidden width = `d_model` x this factor");
  v("self_attention_model", c.self_attention_model,
    "Attention type; only `rel_pos` (Transformer-XL relative positions, as NeMo)");
  v("conv_kernel_size", c.conv_kernel_size, "Depthwise convolution kernel of each block (odd)");
  v("conv_norm_type", c.conv_norm_type, "Norm after the depthwise convolution: `batch_norm` or `layer_norm`");
  v("xscaling", c.xscaling, "Scale the subsampled input by sqrt(`d_model`) before the blocks");
  v("untie_biases", c.untie_biases,
    "Per-layer relative-position biases `pos_bias_u`/`pos_bias_v` (NeMo's default); false is refused");
  v("pos_emb_max_len", c.pos_emb_max_len,
    "Initial length (frames) of the relative-position table; longer inputs extend it");
  v("dropout", c.dropout, "Dropout in the blocks: inside the feed-forward modules and on every module's output");
  v("dropout_pre_encoder", c.dropout_pre_encoder, "Dropout on the subsampled, scaled input before the first block");
  v("dropout_emb", c.dropout_emb, "Dropout on the relative positional embeddings");
  v("dropout_att", c.dropout_att, "Dropout on the attention weights");
  v("use_pytorch_sdpa", c.use_pytorch_sdpa,
    "Attention through LibTorch's fused `scaled_dot_product_attention` with the relative-position scores as its "
    "additive mask (NeMo's `use_pytorch_sdpa`; LibTorch >= 2.1, elsewhere the same arithmetic written out). "
    "Same weights and results as the explicit path");
}

template <class V> void visit_fields(V& v, DecoderConfig& c) {
  v("num_classes", c.num_classes,
    "Recorded as NeMo's configs do; the CTC head always has the tokenizer's vocabulary size + 1 (blank) outputs");
  v("vocabulary", c.vocabulary,
    "The character vocabulary of a char model imported from NeMo (`sori import-nemo`), kept for reference; the "
    "tokenizer files are what the model uses");
}

template <class V> void visit_fields(V& v, SchedConfig& c) {
  v("name", c.name, "`CosineAnnealing`, `NoamAnnealing` (`lr` is then a multiplier) or `none` (constant lr)");
  v("warmup_steps", c.warmup_steps, "Linear warm-up steps; 0: `warmup_ratio` of the run's steps");
  v("warmup_ratio", c.warmup_ratio, "Warm-up as a fraction of the run's optimizer steps, when `warmup_steps` is 0");
  v("min_lr", c.min_lr, "Floor of the learning rate: where the cosine ends, and Noam's lower bound after warm-up");
}

template <class V> void visit_fields(V& v, OptimConfig& c) {
  v("name", c.name, "Optimizer; only `adamw`");
  v("lr", c.lr, "Peak learning rate (reached at the end of warm-up)");
  v("betas", c.betas, "AdamW's [beta1, beta2]");
  v("weight_decay", c.weight_decay, "AdamW's decoupled weight decay");
  v("eps", c.eps, "AdamW's epsilon");
  v("sched", c.sched, "Learning-rate schedule, with NeMo's formulas, over the run's optimizer steps.");
}

template <class V> void visit_fields(V& v, ModelConfig& c) {
  v("sample_rate", c.sample_rate, "Audio is resampled to this rate (Hz) when decoded");
  v("train_ds", c.train_ds,
    "Training data: manifests, filters and duration-bucketed batching (`docs/DATA.md`).");
  v("validation_ds", c.validation_ds,
    "Validation data: every manifest is decoded and scored on its own at each validation. `batch_duration`, "
    "`batch_size`, `num_workers`, the duration limits and `skip_invalid` apply; the other keys are for training.");
  v("test_ds", c.test_ds,
    "Test data: `sori data check` checks it with its duration limits and `skip_invalid`; score it with "
    "`sori eval --manifest` (which batches as `validation_ds`).");
  v("tokenizer", c.tokenizer, "Text to labels (`sori tokenizer train` makes SentencePiece models).");
  v("preprocessor", c.preprocessor,
    "Log-mel features as NeMo's `AudioToMelSpectrogramPreprocessor`, computed on the training device.");
  v("spec_augment", c.spec_augment,
    "SpecAugment on the features in training, with NeMo's semantics; masks stay inside each utterance.");
  v("augmentation", c.augmentation, "Waveform augmentation in the loader threads (training only).");
  v("encoder", c.encoder, "FastConformer encoder, with NeMo's `ConformerEncoder` keys.");
  v("decoder", c.decoder, "CTC head (NeMo's `ConvASRDecoder`).");
  v("optim", c.optim, "Optimizer (AdamW) and its learning-rate schedule.");
}

template <class V> void visit_fields(V& v, TrainerConfig& c) {
  v("device", c.device,
    "`auto` (CUDA when present, else CPU), `cpu`, `cuda` (cuda:LOCAL_RANK under a launcher) or `cuda:N`");
  v("num_threads", c.num_threads,
    "Intra-op CPU threads for LibTorch; 0: LibTorch's default (1.13: half the logical CPUs on x86-64). When they "
    "fill every CPU (2 or more), a pthreads OpenBLAS (Debian's) runs on the calling thread instead of a pool of its "
    "own beside them, unless OPENBLAS_NUM_THREADS or GOTO_NUM_THREADS is set");
  v("max_steps", c.max_steps,
    "Optimizer steps to train (the schedule is laid over them); <= 0: from `max_epochs`");
  v("max_epochs", c.max_epochs,
    "Epochs to train when `max_steps` is not set (converted to an exact step count)");
  v("max_time_s", c.max_time_s,
    "Stop after this much training time (seconds), validating and saving at the last step; 0: no limit");
  v("val_check_interval", c.val_check_interval,
    "Validate every this many steps (integer) or fraction of an epoch (float in (0, 1]); also at each epoch end");
  v("accumulate_grad_batches", c.accumulate_grad_batches, "Micro-batches whose gradients make one optimizer step");
  v("gradient_clip_val", c.gradient_clip_val, "Clip the global gradient norm to this; 0: no clipping");
  v("precision", c.precision,
    "`32` (TF32 matmuls on CUDA), `bf16` or `16` (autocast; 16 with a loss scaler; CUDA only, fp32 on CPU), "
    "`64` (tests)");
  v("run_dir", c.run_dir, "Folder for checkpoints, metrics and logs; empty: `runs/<name>`");
  v("seed", c.seed,
    "Seeds initialisation, sampling, augmentation, SpecAugment, dropout and dither (a run is reproducible)");
  v("log_every_n_steps", c.log_every_n_steps, "Steps between console log lines and `metrics.jsonl` rows");
  v("max_consecutive_skips", c.max_consecutive_skips,
    "Steps skipped in a row (non-finite gradients, or out of device memory) that end the run as diverged; "
    "0: never");
  v("log_utterances", c.log_utterances,
    "Each rank appends the utterances (manifest:line) of every micro-batch to "
    "`<run_dir>/utterances/rank<R>.jsonl` (an audit of the data order)");
  v("bucket_group", c.bucket_group,
    "Same-bucket micro-batches run in groups of G (the world size must divide it), so ranks step together "
    "on similar lengths");
  v("dist_timeout_s", c.dist_timeout_s, "Data-parallel: how long a collective waits for a silent rank (seconds)");
  v("dist_startup_timeout_s", c.dist_startup_timeout_s,
    "Data-parallel: time allowed for rendezvous and the start-up agreement (seconds; large manifests filter slowly)");
  v("ddp_bucket_mb", c.ddp_bucket_mb, "Data-parallel: gradient all-reduce bucket size (MB)");
  v("ddp_overlap", c.ddp_overlap, "Data-parallel: all-reduce gradient buckets while backward still runs");
  v("sync_batchnorm", c.sync_batchnorm,
    "Data-parallel: BatchNorm statistics over all ranks' frames, as NeMo trains; false keeps them per rank");
  v("loss_reduction", c.loss_reduction,
    "CTC normalisation: `global_tokens` (summed losses over the step's total target tokens, all ranks and "
    "micro-batches) or `nemo` (per-micro-batch token mean, averaged)");
}

template <class V> void visit_fields(V& v, EarlyStoppingConfig& c) {
  v("enabled", c.enabled, "Stop training when `checkpoint.monitor` stops improving");
  v("patience", c.patience, "Validations without improvement before stopping");
  v("min_delta", c.min_delta, "Smallest change of the monitored metric that counts as an improvement");
}

template <class V> void visit_fields(V& v, CheckpointConfig& c) {
  v("every_n_steps", c.every_n_steps,
    "Write `checkpoints/last.ckpt` every this many steps (the one before kept until it is complete); 0: never");
  v("save_top_k", c.save_top_k, "Keep `step_<N>.ckpt` of this many best validations by `monitor`");
  v("monitor", c.monitor,
    "Metric that ranks checkpoints and drives early stopping: `val_cer`, `val_wer`, `val_cer_nospace` or a "
    "per-manifest `val_cer/<manifest>`");
  v("mode", c.mode, "`min` or `max`: whether a lower or a higher `monitor` is better");
  v("on_write_error", c.on_write_error,
    "A checkpoint that cannot be written (disk full, I/O error): `stop` ends the run with an error, `continue` "
    "logs it and trains on");
  v("async_write", c.async_write,
    "Write checkpoints on a background thread from a copy of the state taken at the step boundary, so the step "
    "loop does not wait for the write (it holds one more copy of model and optimizer in host memory). A new save "
    "waits for the previous write; a failed write counts at the next save. Off by default: a `kill -9` loses the "
    "write in flight, so up to two save intervals instead of one. The final and the preemption checkpoints are "
    "written before the run exits, even after a failed background write");
  v("early_stopping", c.early_stopping, "Early stopping on `checkpoint.monitor`.");
}

template <class V> void visit_fields(V& v, Config& c) {
  v("name", c.name, "Run name; the default `run_dir` is `runs/<name>`");
  v("model", c.model, "Data, features, model and optimizer, nested as NeMo's `model:` section.");
  v("trainer", c.trainer, "The training loop: length, device, precision, logging and data-parallel settings.");
  v("checkpoint", c.checkpoint, "Checkpoints, their ranking and early stopping (`docs/TRAINING.md`).");
}

}  // namespace sori::schema
