#!/usr/bin/env bash
# Synthesises the demo corpora with Debian's speech synthesisers (deterministic given SEED):
#   English: texts of 2-7 random words from wamerican, spoken by espeak-ng voice variants and
#            flite voices; about 4 h of training audio.
#   Korean:  texts of 2-5 random words from hunspell-ko (composed from jamo with `sori`),
#            spoken by espeak-ng's Korean voice with variants.
# Random rate and pitch per utterance; 16 kHz mono 16-bit WAV.
# Validation and test voices never occur in training:
#   en train: espeak-ng en-us+{m1,m2,m3,m4,m5,m6,f1,f2,f3}, flite {kal16,awb,rms}
#   en val:   espeak-ng en-us+{m7,f4}, flite kal
#   en test:  espeak-ng en-us+{m8,f5}, flite slt
#   ko train: espeak-ng ko+{m1,m2,m3,m4,m5,f1,f2,f3}; ko val: ko+{m6,f4}; ko test: ko+{m7,f5}
# Writes data/demo/{en,ko}/<split>/*.wav and data/manifests/demo_{en,ko}_{train,val,test}.jsonl.
# Usage: scripts/make_demo_data.sh [--small]   (--small: a few hundred utterances, for tests)
set -euo pipefail
cd "$(dirname "$0")/.."

SORI_BIN=${SORI_BIN:-build/sori}
SEED=${SEED:-1234}
EN_TRAIN=${EN_TRAIN:-6000} EN_EVAL=${EN_EVAL:-300}
KO_TRAIN=${KO_TRAIN:-1500} KO_EVAL=${KO_EVAL:-150}
if [ "${1:-}" = "--small" ]; then EN_TRAIN=200 EN_EVAL=40 KO_TRAIN=100 KO_EVAL=20; fi
JOBS=${JOBS:-$(nproc)}
OUT=data/demo
MANIFESTS=data/manifests

[ -x "$SORI_BIN" ] || { echo "make_demo_data: $SORI_BIN not built (run cmake --build build first)" >&2; exit 1; }
for tool in espeak-ng flite sox; do
  command -v "$tool" >/dev/null || { echo "make_demo_data: $tool missing (run scripts/install_deps.sh)" >&2; exit 1; }
done
[ -f /usr/share/dict/words ] || { echo "make_demo_data: /usr/share/dict/words missing (wamerican)" >&2; exit 1; }
[ -f /usr/share/hunspell/ko_KR.dic ] || { echo "make_demo_data: hunspell-ko missing" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C.UTF-8

grep -E '^[a-z]{3,8}$' /usr/share/dict/words | sort -u > "$work/en_words"
grep -v '^[0-9]' /usr/share/hunspell/ko_KR.dic | cut -d/ -f1 | "$SORI_BIN" data jamo-compose |
  grep -P '^[\x{AC00}-\x{D7A3}]{2,4}$' | sort -u > "$work/ko_words"

# plan line: lang split id engine voice rate pitch text
plan() {  # lang words_file split count voices min_words max_words seed
  awk -v lang="$1" -v part="$3" -v n="$4" -v voices="$5" -v lo="$6" -v hi="$7" -v seed="$8" '
    { w[NR] = $0 }
    END {
      srand(seed); nv = split(voices, v, ",")
      for (i = 0; i < n; i++) {
        k = lo + int(rand() * (hi - lo + 1)); text = ""
        for (j = 0; j < k; j++) text = text (j ? " " : "") w[1 + int(rand() * NR)]
        split(v[1 + int(rand() * nv)], ev, ":")
        printf "%s\t%s\t%s_%s_%05d\t%s\t%s\t%.3f\t%.3f\t%s\n", lang, part, lang, part, i, ev[1], ev[2], rand(), rand(), text
      }
    }' "$2"
}

EN_TRAIN_VOICES="espeak:en-us+m1,espeak:en-us+m2,espeak:en-us+m3,espeak:en-us+m4,espeak:en-us+m5,espeak:en-us+m6,espeak:en-us+f1,espeak:en-us+f2,espeak:en-us+f3,flite:kal16,flite:awb,flite:rms"
{
  plan en "$work/en_words" train "$EN_TRAIN" "$EN_TRAIN_VOICES" 2 7 $((SEED + 1))
  plan en "$work/en_words" val "$EN_EVAL" "espeak:en-us+m7,espeak:en-us+f4,flite:kal" 2 7 $((SEED + 2))
  plan en "$work/en_words" test "$EN_EVAL" "espeak:en-us+m8,espeak:en-us+f5,flite:slt" 2 7 $((SEED + 3))
  plan ko "$work/ko_words" train "$KO_TRAIN" "espeak:ko+m1,espeak:ko+m2,espeak:ko+m3,espeak:ko+m4,espeak:ko+m5,espeak:ko+f1,espeak:ko+f2,espeak:ko+f3" 2 5 $((SEED + 4))
  plan ko "$work/ko_words" val "$KO_EVAL" "espeak:ko+m6,espeak:ko+f4" 2 5 $((SEED + 5))
  plan ko "$work/ko_words" test "$KO_EVAL" "espeak:ko+m7,espeak:ko+f5" 2 5 $((SEED + 6))
} > "$work/plan"

# One shard per job: synthesise, convert to 16 kHz mono, print "lang split JSON-line".
synth_shard() {
  local shard=$1 tmp="$work/tmp_$1.wav"
  while IFS=$'\t' read -r lang split id engine voice r p text; do
    local dir="$OUT/$lang/$split"; local wav="$dir/$id.wav"
    mkdir -p "$dir"
    if [ "$engine" = espeak ]; then
      local rate pitch
      rate=$(awk -v r="$r" 'BEGIN { printf "%d", 130 + r * 80 }')
      pitch=$(awk -v p="$p" 'BEGIN { printf "%d", 25 + p * 50 }')
      espeak-ng -v "$voice" -s "$rate" -p "$pitch" -w "$tmp" "$text"
    else
      local stretch f0
      stretch=$(awk -v r="$r" 'BEGIN { printf "%.3f", 0.8 + r * 0.45 }')
      f0=$(awk -v p="$p" 'BEGIN { printf "%d", 85 + p * 90 }')
      flite -voice "$voice" --setf duration_stretch="$stretch" --setf int_f0_target_mean="$f0" -t "$text" -o "$tmp"
    fi
    sox -V1 "$tmp" -D -r 16000 -c 1 -b 16 "$wav"
    local dur; dur=$(soxi -D "$wav")
    printf '%s\t%s\t{"audio_filepath": "../demo/%s/%s/%s.wav", "duration": %s, "text": "%s"}\n' \
      "$lang" "$split" "$lang" "$split" "$id" "$dur" "$text"
  done < <(awk -v k="$shard" -v n="$JOBS" -F'\t' 'NR % n == k' "$work/plan")
}

rm -rf "$OUT"  # no stale audio from an earlier, larger run
start=$(date +%s)
for ((k = 0; k < JOBS; k++)); do synth_shard "$k" > "$work/out_$k" & done
wait
mkdir -p "$MANIFESTS"
cat "$work"/out_* | sort -t$'\t' -k3,3 > "$work/all"
for lang in en ko; do
  for split in train val test; do
    # Written to a temp file and renamed: a manifest is either complete or absent.
    awk -F'\t' -v l="$lang" -v s="$split" '$1 == l && $2 == s { print $3 }' "$work/all" \
      | sort > "$MANIFESTS/.demo_${lang}_${split}.jsonl.tmp"
    mv "$MANIFESTS/.demo_${lang}_${split}.jsonl.tmp" "$MANIFESTS/demo_${lang}_${split}.jsonl"
    hours=$(awk -F'"duration": ' '{ split($2, a, ","); s += a[1] } END { printf "%.2f", s / 3600 }' "$MANIFESTS/demo_${lang}_${split}.jsonl")
    echo "demo_${lang}_${split}: $(wc -l < "$MANIFESTS/demo_${lang}_${split}.jsonl") utterances, ${hours} h"
  done
done
echo "make_demo_data: done in $(( $(date +%s) - start )) s"
