#!/usr/bin/env bash
# How long a checkpoint stops the step loop, with checkpoint.async_write off and on
# (docs/PERFORMANCE.md). Trains CONFIG (default FastConformer-CTC large: 115 M parameters, a
# checkpoint of 1.4 GB with AdamW's state) for STEPS steps on a few synthetic tone utterances,
# on DEVICE (cpu) in PRECISION (32). There are three variants, repeated ROUNDS times in turn: no checkpoints;
# `last` every EVERY steps written synchronously; the same written in the background. Each step's
# time is the difference of consecutive `elapsed_s` in metrics.jsonl (one row per step). A save
# runs after its step's row, so it is timed in the next step. Prints per run the median step
# time, the median time of a step that follows a save, and the loop's time from step 2 to the
# last step, then the medians over rounds. The stall of one checkpoint is the loop's excess
# over "none" divided by the number of saves in it. That includes what a background write slows
# down the steps it overlaps.
# Usage: [CONFIG=...] [STEPS=31] [EVERY=10] [ROUNDS=3] [SECONDS_PER_UTT=2] [THREADS=2] [DEVICE=cpu|cuda]
#        [PRECISION=32|bf16] [BIN=build/sori] ./bench/checkpoint_stall.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-configs/fastconformer_ctc_large.yaml}
STEPS=${STEPS:-31}
EVERY=${EVERY:-10}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_UTT=${SECONDS_PER_UTT:-2}
THREADS=${THREADS:-2}
DEVICE=${DEVICE:-cpu}
PRECISION=${PRECISION:-32}
BIN=${BIN:-build/sori}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Four utterances of tones (one per character), text from "abcdef": a char tokenizer, one
# utterance per batch.
python3 - "$WORK" "$SECONDS_PER_UTT" <<'EOF'
import json, math, struct, sys, wave
work, seconds = sys.argv[1], float(sys.argv[2])
lines = []
for i, text in enumerate(["abc fed", "bad cafe", "face bead", "dead beef"]):
    n = int(seconds * 16000)
    per = n // len(text)
    samples = []
    for c in text:
        hz = 0 if c == " " else 300 + 100 * "abcdef".index(c)
        samples += [int(12000 * math.sin(2 * math.pi * hz * s / 16000)) for s in range(per)]
    samples += [0] * (n - len(samples))
    path = f"{work}/u{i}.wav"
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes(struct.pack(f"<{n}h", *samples))
    lines.append(json.dumps({"audio_filepath": path, "duration": n / 16000, "text": text}))
open(f"{work}/train.jsonl", "w").write("\n".join(lines) + "\n")
open(f"{work}/val.jsonl", "w").write(lines[0] + "\n")
EOF

run() {  # name every async
  local dir="$WORK/$1"
  "$BIN" train --config "$CONFIG" trainer.run_dir="$dir" --progress lines \
    model.train_ds.manifest_filepath="$WORK/train.jsonl" model.validation_ds.manifest_filepath="$WORK/val.jsonl" \
    model.train_ds.batch_size=1 model.train_ds.batch_duration=0 model.train_ds.num_workers=1 model.train_ds.num_buckets=1 \
    model.validation_ds.batch_duration=0 model.validation_ds.batch_size=1 \
    model.tokenizer.type=char model.tokenizer.dir="$WORK/vocab" \
    model.augmentation.speed_perturb=[1.0] trainer.device="$DEVICE" trainer.precision="$PRECISION" trainer.bucket_group=1 \
    trainer.num_threads="$THREADS" trainer.max_steps="$STEPS" trainer.log_every_n_steps=1 \
    trainer.val_check_interval=100000 \
    checkpoint.every_n_steps="$2" checkpoint.async_write="$3" > "$dir.log" 2>&1 || { tail -20 "$dir.log"; exit 1; }
  python3 - "$dir/metrics.jsonl" "$1" "$2" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
t = {r["step"]: r["elapsed_s"] for r in rows}
every = int(sys.argv[3])
dt = {s: t[s] - t[s - 1] for s in t if s - 1 in t}  # from step 2: step 1 warms up
after = [d for s, d in dt.items() if every and (s - 1) % every == 0]
plain = [d for s, d in dt.items() if not (every and (s - 1) % every == 0)]
print(f"{sys.argv[2]}: saves {len(after)} median step {statistics.median(plain):.2f} s "
      f"step after a save {statistics.median(after) if after else float('nan'):.2f} s loop {sum(dt.values()):.2f} s",
      flush=True)
EOF
  rm -rf "$dir"
}

for r in $(seq "$ROUNDS"); do
  for variant in "none 0 false" "sync $EVERY false" "async $EVERY true"; do
    set -- $variant
    run "$1" "$2" "$3"
  done
done | tee "$WORK/results.txt"
python3 - "$WORK/results.txt" <<'EOF'
import re, statistics, sys
loops, after, saves = {}, {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+): saves (\d+) .* step after a save ([\d.na]+) s loop ([\d.]+) s", line)
    loops.setdefault(m[1], []).append(float(m[4]))
    after.setdefault(m[1], []).append(float(m[3]))
    saves[m[1]] = int(m[2])
none = statistics.median(loops["none"])
for name in ("none", "sync", "async"):
    loop = statistics.median(loops[name])
    stall = (loop - none) / saves[name] if saves[name] else 0.0
    print(f"median {name}: loop {loop:.2f} s, step after a save {statistics.median(after[name]):.2f} s, "
          f"stall per checkpoint {stall:.2f} s")
EOF
