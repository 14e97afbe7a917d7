#!/bin/bash
# Runs the libFuzzer harness (built by `make fuzz`) on each target for $1 seconds, seeded with the shipped pipelines,
# the bad-pipeline corpus and real MTL files. New findings land in FuzzRegressions/<target>/ for `make test` to replay.
set -euo pipefail
seconds=${1:-300}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary="$root/.build-fuzz/release/landwatch-fuzz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pipeline" "$work/mtl"
cp "$root"/pipelines/*.yaml "$here"/BadPipelines/*.yaml "$here"/FuzzRegressions/pipeline/* "$work/pipeline/"
cp "$root"/testdata/marburg-landsat/*_MTL.txt "$here"/FuzzRegressions/mtl/* "$work/mtl/"
find "${LANDWATCH_SHARED_DATA:-../shared/data}" -name '*_MTL.txt' -exec cp {} "$work/mtl/" \; 2>/dev/null || true
status=0
for target in pipeline mtl; do
    echo "make fuzz: $target for $seconds s"
    mkdir -p "$work/findings-$target"
    if ! (cd "$root" && LANDWATCH_FUZZ_TARGET=$target "$binary" "$work/$target" -max_total_time="$seconds" -timeout=10 \
            -rss_limit_mb=4096 -artifact_prefix="$work/findings-$target/" -print_final_stats=1 2>&1 | tail -15); then
        status=1
    fi
    for finding in "$work/findings-$target"/*; do
        [ -e "$finding" ] || continue
        cp "$finding" "$here/FuzzRegressions/$target/"
        echo "make fuzz: FINDING kept as FuzzRegressions/$target/$(basename "$finding")"
        status=1
    done
done
[ $status -eq 0 ] && echo "make fuzz: no crash, hang or leak in $seconds s per target"
exit $status
