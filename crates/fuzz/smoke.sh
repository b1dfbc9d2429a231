#!/usr/bin/env bash
# Smoke-runs every fuzz target for a short while from its seed corpus, with no
# sanitizer, on the stable toolchain. Exits non-zero if any target crashes
# (the reproducer is left in crates/fuzz/artifacts/<target>/).
#
# Usage, from the repository root:   crates/fuzz/smoke.sh
# Seconds per target:                 FUZZ_SECONDS=60 crates/fuzz/smoke.sh
# Some targets only:                  crates/fuzz/smoke.sh envelope query
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
fuzz_dir=crates/fuzz
seconds="${FUZZ_SECONDS:-20}"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=(submission envelope export query)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# One build for all targets (`cargo fuzz run` would otherwise check it per target).
cargo fuzz build --fuzz-dir "$fuzz_dir" --sanitizer none

# New inputs go to a scratch corpus (the first directory); the committed seed
# corpus is only read.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

failed=()
for t in "${targets[@]}"; do
    echo "smoke: $t for ${seconds}s" >&2
    mkdir -p "$scratch/$t"
    dict=()
    if [ -f "$fuzz_dir/$t.dict" ]; then
        dict=(-dict="$fuzz_dir/$t.dict")
    fi
    if ! cargo fuzz run --fuzz-dir "$fuzz_dir" --sanitizer none "$t" \
        "$scratch/$t" "$fuzz_dir/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}"; then
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "smoke: FAILED: ${failed[*]} (reproducers in $fuzz_dir/artifacts/)" >&2
    exit 1
fi
echo "smoke: all ${#targets[@]} targets ran ${seconds}s without a crash" >&2
