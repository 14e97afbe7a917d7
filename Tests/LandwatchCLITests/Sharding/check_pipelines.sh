#!/bin/bash
# make shard-check: every shipped pipeline run whole, then as 4 shards joined by `landwatch merge`; the outputs must
# be the same (compare_outputs.py). Takes about two minutes with a release build on two cores.
set -u
cd "$(dirname "$0")/../../.."
BIN=${BIN:-.build/release/landwatch}
OUT=${SHARD_CHECK_OUT:-$(mktemp -d /tmp/landwatch-shard-check.XXXXXX)}
SHARDS=${SHARDS:-4}
failed=0
for pipeline in pipelines/*.yaml; do
  name=$(basename "$pipeline" .yaml)
  dir="$OUT/$name"
  if ! "$BIN" run "$pipeline" --out "$dir/whole" --force >"$dir.whole.log" 2>&1; then
    echo "$name: FAILED unsharded: $(grep -m1 '^landwatch:' "$dir.whole.log")"; failed=1; continue
  fi
  shards=()
  for k in $(seq 1 "$SHARDS"); do
    shards+=("$dir/shard-$k")
    if ! "$BIN" run "$pipeline" --shard "$k/$SHARDS" --out "$dir/shard-$k" >"$dir.shard-$k.log" 2>&1; then
      echo "$name: FAILED shard $k/$SHARDS: $(grep -m1 '^landwatch:' "$dir.shard-$k.log")"; failed=1; continue 2
    fi
  done
  if ! "$BIN" merge "${shards[@]}" --out "$dir/merged" >"$dir.merge.log" 2>&1; then
    echo "$name: FAILED merge: $(grep -m1 '^landwatch:' "$dir.merge.log")"; failed=1; continue
  fi
  if result=$(/usr/bin/python3 Tests/LandwatchCLITests/Sharding/compare_outputs.py "$dir/whole" "$dir/merged"); then
    echo "$name: same outputs ($(echo "$result" | tail -1))"
  else
    echo "$result" | sed "s/^/$name: /"; failed=1
  fi
done
echo "outputs and logs in $OUT"
exit $failed
