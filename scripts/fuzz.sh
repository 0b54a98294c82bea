#!/usr/bin/env bash
# Fuzzes every parser of untrusted bytes in kluis (docs/FUZZING.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 600; TARGETs default to every target in
# fuzz/fuzz_targets/. Builds the targets with cargo-fuzz (libFuzzer) on the
# stable toolchain (RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags
# cargo-fuzz passes), seeds fuzz/corpus/<target>/ when it is missing, runs
# FUZZ_JOBS targets at a time (default 2), and prints a summary. A run keeps
# going after a crash, an out-of-memory or a timeout (libFuzzer's fork
# mode); each failing input lands in fuzz/artifacts/<target>/ and the script
# exits 1 if there is any. Logs: fuzz/target/logs/<target>.log.
#
# Environment: FUZZ_JOBS (targets at once, default 2), FUZZ_RSS_MB (memory
# limit per run, default 512), FUZZ_TIMEOUT (seconds per input, default 10).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-600}
shift || true
jobs=${FUZZ_JOBS:-2}
rss=${FUZZ_RSS_MB:-512}
timeout=${FUZZ_TIMEOUT:-10}

export RUSTC_BOOTSTRAP=1
# -s none: no sanitizer (kluis forbids unsafe code; memory is limited by
# -rss_limit_mb and checked by the targets themselves). -a: debug assertions
# and overflow checks on, so that arithmetic overflow is a crash.
fuzz_flags=(-s none -a -O)

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in fuzz/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

echo "building ${#targets[@]} fuzz targets" >&2
cargo fuzz build "${fuzz_flags[@]}" >&2
bin_dir=$root/fuzz/target/x86_64-unknown-linux-gnu/release
# Logs go below fuzz/target/, which git ignores.
logs=$root/fuzz/target/logs

for t in "${targets[@]}"; do
    if [ ! -d "fuzz/corpus/$t" ]; then
        echo "seeding fuzz/corpus/" >&2
        cargo run --release --quiet --manifest-path fuzz/Cargo.toml --example seeds -- fuzz/corpus >&2
        break
    fi
done

max_len() {
    case $1 in
        archive_*) echo 1048576 ;;   # 1 MiB: room for many frames and a bomb
        *) echo 65536 ;;             # JSON, TOML, key files: 64 KiB
    esac
}

mkdir -p "$logs"
run_one() {
    local t=$1
    mkdir -p "fuzz/artifacts/$t" "fuzz/corpus/$t"
    local start end
    start=$(date +%s)
    # Fork mode with one worker: a crash, OOM or timeout is saved and the
    # run goes on instead of stopping at the first finding.
    "$bin_dir/$t" "fuzz/corpus/$t" \
        -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
        -max_total_time="$secs" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" \
        -max_len="$(max_len "$t")" -timeout="$timeout" \
        -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 \
        >"$logs/$t.log" 2>&1 || true
    end=$(date +%s)
    echo $((end - start)) >"$logs/$t.seconds"
}

echo "fuzzing ${#targets[@]} targets, ${secs}s each, $jobs at a time" >&2
running=0
for t in "${targets[@]}"; do
    echo "  start $t" >&2
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

# Summary: the last status line of each log
# ("#EXECS: cov: C ft: F corp: N exec/s E oom/timeout/crash: O/T/C time: Ts").
printf '\n%-14s %8s %12s %8s %7s %7s %7s %s\n' target seconds execs exec/s cov ft corpus "oom/timeout/crash (artifacts)"
found=0
for t in "${targets[@]}"; do
    log=$logs/$t.log
    line=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -n 1 || true)
    execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$line")
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$line")
    rate=$(sed -nE 's/.* exec\/s: ?([0-9]+).*/\1/p' <<<"$line")
    otc=$(sed -nE 's/.* oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/p' <<<"$line")
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    artifacts=$(find "fuzz/artifacts/$t" -type f | wc -l)
    [ "$artifacts" -gt 0 ] && found=1
    printf '%-14s %8s %12s %8s %7s %7s %7s %s (%s)\n' "$t" "$(cat "$logs/$t.seconds")" \
        "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "${otc:-?}" "$artifacts"
done
if [ "$found" -eq 1 ]; then
    echo
    echo "findings (reproduce with fuzz/target/x86_64-unknown-linux-gnu/release/TARGET FILE):"
    find fuzz/artifacts -type f | sort
    exit 1
fi
