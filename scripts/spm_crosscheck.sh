#!/usr/bin/env bash
# Times Google's spm_encode against `translate tokenize --spm` on the same
# 32,000 German and English corpus lines (the corpus lines TestSPMCrossCheck uses),
# checks that both print the same pieces, and reports CPU seconds (user+sys,
# best of 3, model loading included) and the ratio spm/ours (>1: we are
# faster). Needs spm_encode (apt-get install sentencepiece) and the corpus at
# $DEEN_CORPUS or ../shared/corpus beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${DEEN_CORPUS:-../shared/corpus}
command -v spm_encode >/dev/null || { echo "spm_encode not found: apt-get install sentencepiece" >&2; exit 1; }
[ -f "$corpus/tatoeba/train.de" ] || { echo "corpus not found at $corpus (set DEEN_CORPUS)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Every 3rd line from line 3 on, 8000 per file, as crossCheckLines does.
for f in tatoeba/train.de tatoeba/train.en multi30k/train.de multi30k/train.en; do
  awk 'NR >= 3 && (NR - 3) % 3 == 0 && $0 != "" { print; if (++n == 8000) exit }' "$corpus/$f"
done > "$tmp/lines.txt"
go build -o "$tmp/translate" ./cmd/translate
echo "input: $(wc -l < "$tmp/lines.txt") lines, $(wc -c < "$tmp/lines.txt") bytes"
TIMEFORMAT='%U %S'
cpu() { # best user+sys seconds of 3 runs of "$@" < lines > out
  local best=""
  for _ in 1 2 3; do
    t=$( { time "$@" < "$tmp/lines.txt" > "$tmp/out" ; } 2>&1 | awk '{print $1+$2}')
    best=$(awk -v a="$t" -v b="$best" 'BEGIN{print (b=="" || a<b) ? a : b}')
  done
  echo "$best"
}
printf '%-28s %10s %10s %8s %s\n' model spm_cpu_s ours_cpu_s ratio output
for m in testdata/oracle/tiny-marian-A/source.spm testdata/oracle/tiny-marian-A/target.spm \
         testdata/oracle/joint_bpe.spm bpe/testdata/spm/*.model; do
  s=$(cpu spm_encode --model="$m"); cp "$tmp/out" "$tmp/spm.txt"
  o=$(cpu "$tmp/translate" tokenize --spm "$m")
  same=$(cmp -s "$tmp/out" "$tmp/spm.txt" && echo identical || echo DIFFERENT)
  printf '%-28s %10s %10s %8s %s\n' "$(basename "$(dirname "$m")")/$(basename "$m")" "$s" "$o" "$(awk -v s="$s" -v o="$o" 'BEGIN{printf "%.2f", s/o}')" "$same"
done
