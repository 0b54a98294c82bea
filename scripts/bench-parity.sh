#!/usr/bin/env bash
# PAR2 creation speed, side by side: kluis's creator (`kluis repair
# --add-parity`: one pass over the file, hashes and recovery blocks) against
# Debian's `par2 create` (par2cmdline), same file, same slice size, same
# number of recovery blocks (5 % + 2 spare). Prints each run and the
# medians; then checks that stock `par2 verify` accepts kluis's set.
#
#   scripts/bench-parity.sh [SIZE_MB] [RUNS]     (default 256 MB, 3 runs)
#   KLUIS_BENCH_FILE=path/to/archive.kluis scripts/bench-parity.sh  (a real archive)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-256}
runs=${2:-3}
command -v par2 >/dev/null || { echo "bench-parity: install par2 (Debian package par2)" >&2; exit 2; }
# KLUIS_BIN: an already built kluis (default: a release build).
if [ -n "${KLUIS_BIN:-}" ]; then
  kluis=$(realpath "$KLUIS_BIN")
else
  cargo build --release --quiet
  kluis=$PWD/target/release/kluis
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
file=bench.kluis
if [ -n "${KLUIS_BENCH_FILE:-}" ]; then
  cp "$KLUIS_BENCH_FILE" "$work/$file"
else
  head -c "$((size_mb * 1000 * 1000))" /dev/urandom >"$work/$file"
fi
len=$(stat -c %s "$work/$file")
slice=$(( ( (len + 1999) / 2000 + 4095) / 4096 * 4096 ))
[ "$slice" -lt 4096 ] && slice=4096
slices=$(( (len + slice - 1) / slice ))
blocks=$(( (slices * 5 + 99) / 100 + 2 ))
echo "file: $len bytes, slice $slice, $slices slices, $blocks recovery blocks, $(nproc) cores"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
clean() { rm -f "$work"/*.par2 "$work"/.kluis.lock; }
time_it() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }

k=() p=()
for i in $(seq "$runs"); do
  clean; sync; echo 3 | sudo -n tee /proc/sys/vm/drop_caches >/dev/null 2>&1 || true
  k+=("$(cd "$work" && time_it "$kluis" --vault "$work/no-vault" repair --add-parity --parity 5 "$file")")
  clean; sync; echo 3 | sudo -n tee /proc/sys/vm/drop_caches >/dev/null 2>&1 || true
  p+=("$(cd "$work" && time_it par2 create -q -s"$slice" -c"$blocks" -n1 "$file.par2" "$file")")
  echo "run $i: kluis ${k[-1]} s   par2 create ${p[-1]} s"
done
km=$(printf '%s\n' "${k[@]}" | median)
pm=$(printf '%s\n' "${p[@]}" | median)
mb=$(echo "$len / 1000000" | bc -l)
printf '%-22s %10s %12s\n' "" "median s" "MB/s"
printf '%-22s %10.2f %12.1f\n' "kluis (add-parity)" "$km" "$(echo "$mb / $km" | bc -l)"
printf '%-22s %10.2f %12.1f\n' "par2 create (Debian)" "$pm" "$(echo "$mb / $pm" | bc -l)"
printf 'speed ratio kluis / par2 create: %.2f×\n' "$(echo "$pm / $km" | bc -l)"
clean
(cd "$work" && "$kluis" --vault "$work/no-vault" repair --add-parity --parity 5 "$file" >/dev/null && par2 verify -q "$file.par2" >/dev/null) \
  && echo "stock par2 verify accepts kluis's set" || { echo "stock par2 verify REJECTED kluis's set" >&2; exit 1; }
