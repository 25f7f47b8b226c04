#!/usr/bin/env bash
# Klaxon's performance budget, measured (not timed tests):
#
#   a. Lambda package size: `cargo lambda build --release --arm64` for each
#      function; the bootstrap binary and the zip Lambda receives
#      (`cargo lambda build --output-format zip`, as `cargo lambda deploy`).
#      Budgets: bootstrap <= 8 MB (the project guide's limit), zip <= 3 MB
#      (1 MB = 1,000,000 bytes).
#   b. Cold start: native (host) release binaries run against a stub Lambda
#      Runtime API (tests/src/bin/coldstart.rs); time from process spawn to
#      the first GET /2018-06-01/runtime/invocation/next. min/median/p90.
#   c. Criterion benches in shared/benches/. Budgets:
#      intake.rs  parse + classify + build the write <= 50 us per event (intake/full/*)
#      oncall.rs  who is on call now, 3 layers x 10 people + 50 overrides <= 10 us
#                 (oncall/now_three_layers)
#      config.rs  load + validate a 500-person, 100-schedule file <= 50 ms
#                 (config/load_validate)
#      voice.rs   the voice-call handler's own work per event, on the
#                 in-memory ports <= 50 us (voice/*)
#
# Usage (from anywhere; needs python3 for the venv, rustup and cargo):
#   scripts/bench.sh
#   COLDSTART_RUNS=50 scripts/bench.sh
# Prints a Markdown summary at the end; exits 1 if any budget is missed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FUNCTIONS=(alarm-intake sms-reply escalator voice-call self-test)
# Built in two cargo invocations, as `sam build` builds each function on its
# own: built together, cargo would unify klaxon-shared's features, and the
# paging functions would be compiled with the self-test's Lambda SDK.
PAGING=(-p alarm-intake -p sms-reply -p escalator -p voice-call)
SELF_TEST=(-p self-test)
RUNS="${COLDSTART_RUNS:-20}"
JOBS="${BENCH_JOBS:-2}"
BOOTSTRAP_BUDGET=8000000
ZIP_BUDGET=3000000
INTAKE_BUDGET_NS=50000
ONCALL_BUDGET_NS=10000
CONFIG_BUDGET_NS=50000000
ARM_TARGET=aarch64-unknown-linux-gnu
LOGS="$ROOT/target/bench"
ZIP_DIR="$ROOT/target/lambda-zip"

log() { printf '\n== %s\n' "$*" >&2; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1000000 }'; }
bytes() { sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta' <<<"$1"; }

mkdir -p "$LOGS"
fail=0

log "tools (scripts/local-aws.sh setup)"
scripts/local-aws.sh setup
export PATH="$ROOT/.venv/bin:$PATH"
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$ARM_TARGET"; then
  rustup target add "$ARM_TARGET"
fi

# ---------------------------------------------------------------- a. sizes
log "a. cargo lambda build --release --arm64 (${FUNCTIONS[*]})"
for group in PAGING SELF_TEST; do
  declare -n PKGS="$group"
  cargo lambda build --release --arm64 --locked -j "$JOBS" "${PKGS[@]}"
  cargo lambda build --release --arm64 --locked -j "$JOBS" "${PKGS[@]}" \
    --output-format zip --lambda-dir "$ZIP_DIR"
done

declare -A BOOT ZIP SIZE_OK CS
for f in "${FUNCTIONS[@]}"; do
  boot="target/lambda/$f/bootstrap"
  zip="$ZIP_DIR/$f/bootstrap.zip"
  b="$(stat -c %s "$boot")"
  z="$(stat -c %s "$zip")"
  verdict=PASS
  if ((b > BOOTSTRAP_BUDGET || z > ZIP_BUDGET)); then
    verdict=FAIL
    fail=1
  fi
  BOOT[$f]=$b
  ZIP[$f]=$z
  SIZE_OK[$f]=$verdict
  printf '%-13s bootstrap %10s B (%s MB, budget 8 MB)  zip %10s B (%s MB, budget 3 MB)  %s\n' \
    "$f" "$(bytes "$b")" "$(mb "$b")" "$(bytes "$z")" "$(mb "$z")" "$verdict"
done

# ----------------------------------------------------------- b. cold start
log "b. cold start: native release builds + coldstart stub ($RUNS runs each)"
for group in PAGING SELF_TEST; do
  declare -n PKGS="$group"
  cargo build --release --locked -j "$JOBS" "${PKGS[@]}"
done
cargo build --release --locked -j "$JOBS" -p klaxon-tests --bin coldstart
for f in "${FUNCTIONS[@]}"; do
  out="$(target/release/coldstart "target/release/$f" "$RUNS")"
  printf '%s\n' "$out" | grep -v '^coldstart '
  line="$(printf '%s\n' "$out" | grep '^coldstart ')"
  min="$(sed -E 's/.* min_ms=([0-9.]+).*/\1/' <<<"$line")"
  med="$(sed -E 's/.* median_ms=([0-9.]+).*/\1/' <<<"$line")"
  p90="$(sed -E 's/.* p90_ms=([0-9.]+).*/\1/' <<<"$line")"
  CS[$f]="$min / $med / $p90 ms"
done

# ------------------------------------------------------------- c. criterion
: >"$LOGS/criterion.estimates"
for bench in intake oncall config voice; do
  log "c. cargo bench -p klaxon-shared --features numbering-plan,testing --bench $bench"
  if ! cargo bench --locked -j "$JOBS" -p klaxon-shared --features numbering-plan,testing --bench "$bench" >"$LOGS/$bench.log" 2>&1; then
    tail -n 40 "$LOGS/$bench.log" >&2
    exit 1
  fi
  # Criterion prints the id, then `time: [low estimate high]` (on the next
  # line when the id is long). Join them: "<id> time: [...]".
  awk '
    /^Benchmarking / { next }
    /time:/ { line = $0; sub(/^[[:space:]]+/, "", line)
              if ($0 ~ /^[[:space:]]/) print id "  " line; else print line; next }
    /^[^[:space:]]/ { id = $1 }
  ' "$LOGS/$bench.log" >>"$LOGS/criterion.estimates"
done
if [[ ! -s "$LOGS/criterion.estimates" ]]; then
  echo "bench: no criterion estimates found" >&2
  exit 1
fi
cat "$LOGS/criterion.estimates"

# Markdown rows: | id | estimate | [low, high] | budget |
BENCH_ROWS="$(awk -v intake="$INTAKE_BUDGET_NS" -v oncall="$ONCALL_BUDGET_NS" -v config="$CONFIG_BUDGET_NS" '
  function ns(v, u) {
    if (u == "ps") return v / 1000; if (u == "ns") return v
    if (u == "ms") return v * 1e6;  if (u == "s") return v * 1e9
    return v * 1000   # µs / us
  }
  function check(est, budget, label) {
    if (est > budget) { bad = 1; return label " **FAIL**" }
    return label " PASS"
  }
  {
    id = $1
    s = $0; sub(/.*\[/, "", s); sub(/\].*/, "", s); split(s, a, " ")
    est = ns(a[3], a[4])
    verdict = ""
    if (id ~ /^intake\/full\//) verdict = check(est, intake, "≤ 50 µs")
    if (id ~ /^voice\//) verdict = check(est, intake, "≤ 50 µs")
    if (id == "oncall/now_three_layers") verdict = check(est, oncall, "≤ 10 µs")
    if (id == "config/load_validate") verdict = check(est, config, "≤ 50 ms")
    printf "| `%s` | %s %s | [%s %s, %s %s] | %s |\n", id, a[3], a[4], a[1], a[2], a[5], a[6], verdict
  }
  END { exit bad }
' "$LOGS/criterion.estimates")" || fail=1

# ---------------------------------------------------------------- summary
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
{
  echo
  echo "### Performance budget"
  echo
  echo "Measured with \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), $(rustc --version | cut -d' ' -f1-2), ${cpu:-unknown CPU} ($(nproc) cores)."
  echo "Sizes: \`cargo lambda build --release --arm64\` (1 MB = 1,000,000 bytes). Cold start: host release build, spawn to first \`GET /runtime/invocation/next\` against a stub Runtime API, $RUNS runs."
  echo
  echo "| Function | bootstrap (arm64) | zip | size budget (8 MB / 3 MB) | cold start min / median / p90 |"
  echo "|---|---:|---:|:---:|---:|"
  for f in "${FUNCTIONS[@]}"; do
    v="${SIZE_OK[$f]}"
    [[ "$v" == FAIL ]] && v="**FAIL**"
    printf '| %s | %s MB (%s B) | %s MB (%s B) | %s | %s |\n' "$f" \
      "$(mb "${BOOT[$f]}")" "$(bytes "${BOOT[$f]}")" "$(mb "${ZIP[$f]}")" "$(bytes "${ZIP[$f]}")" \
      "$v" "${CS[$f]}"
  done
  echo
  echo "| Benchmark (criterion) | estimate | 95% CI | budget |"
  echo "|---|---:|---:|:---:|"
  printf '%s\n' "$BENCH_ROWS"
  echo
  if ((fail)); then echo "**Budget missed.**"; else echo "All budgets met."; fi
} | tee "$LOGS/summary.md"

exit "$fail"
