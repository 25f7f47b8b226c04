#!/usr/bin/env bash
# Klaxon's performance budget, measured (not timed tests):
#
#   0. The paging path before and after: the paging functions (alarm-intake,
#      sms-reply, escalator, voice-call) and the intake benchmark built at
#      BENCH_BASELINE (a git revision; default 27324a6, the last commit
#      before deliveries and the event bus; "none" to skip) in a worktree,
#      measured as in a. to c. below, to set beside today's figures.
#   a. Lambda package size: `cargo lambda build --release --arm64` for each
#      function; the bootstrap binary and the zip Lambda receives
#      (`cargo lambda build --output-format zip`, as `cargo lambda deploy`).
#      Budgets: bootstrap <= 8 MB (the project guide's limit), zip <= 3 MB
#      (1 MB = 1,000,000 bytes).
#   b. Cold start: native (host) release binaries run against a stub Lambda
#      Runtime API (tests/src/bin/coldstart/); time from process spawn to
#      the first GET /2018-06-01/runtime/invocation/next. min/median/p90,
#      interleaved with the floor (bare-runtime), in two trust layouts;
#      each function's median at most 2x the floor's. The paging functions'
#      first event too: a sample from events/ handed out on that first
#      request, timed to the function's first AWS call at a stand-in HTTPS
#      endpoint (the floor: to its answer).
#   c. Criterion benches in shared/app/benches/ and shared/config/benches/. Budgets:
#      intake.rs  parse + classify + build the write <= 50 us per event (intake/full/*)
#      oncall.rs  who is on call now, 3 layers x 10 people + 50 overrides <= 10 us
#                 (oncall/now_three_layers)
#      config.rs  load + validate a 500-person, 100-schedule file <= 50 ms
#                 (config/load_validate)
#      voice.rs   the voice-call handler's own work per event, on the
#                 in-memory ports <= 50 us (voice/*)
#      publish.rs the event publisher's own work per stream record, on the
#                 in-memory ports <= 50 us (publish/*)
#   d. On the emulator (`scripts/dev.sh latency`): the time from an alarm
#      to its Slack message at a local receiver, and the event publisher's
#      time per stream record (no budget: the emulator's speed, not AWS's).
#
# Usage (from anywhere; needs python3 for the venv, rustup and cargo):
#   scripts/bench.sh
#   COLDSTART_RUNS=50 BENCH_BASELINE=none scripts/bench.sh
#   BENCH_SKIP="criterion emulator" scripts/bench.sh   (a. and b. only)
# Prints a Markdown summary at the end; exits 1 if any budget is missed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FUNCTIONS=(alarm-intake sms-reply escalator voice-call escalation-sweep self-test event-publisher notifier status-page)
PAGING_FUNCTIONS=(alarm-intake sms-reply escalator voice-call)
# Built in separate cargo invocations, as `sam build` builds each function
# on its own: built together, cargo would unify the features of the
# dependencies they share (the SDK's, hyper's), which `sam build` does not.
PAGING=(-p alarm-intake -p sms-reply -p escalator -p voice-call)
SWEEP=(-p escalation-sweep)
SELF_TEST=(-p self-test)
PUBLISHER=(-p event-publisher)
NOTIFIER=(-p notifier)
STATUS_PAGE=(-p status-page)
BUILDS=(PAGING SWEEP SELF_TEST PUBLISHER NOTIFIER STATUS_PAGE)
BASELINE="${BENCH_BASELINE:-27324a6}"
RUNS="${COLDSTART_RUNS:-20}"
JOBS="${BENCH_JOBS:-2}"
SKIP=" ${BENCH_SKIP:-} "
# Whether part c. (criterion) or d. (emulator) runs.
runs_part() { [[ "$SKIP" != *" $1 "* ]]; }
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

# Criterion prints the id, then `time: [low estimate high]` (on the next
# line when the id is long). Prints "<id> time: [...]" per benchmark.
estimates() {
  awk '
    /^Benchmarking / { next }
    /time:/ { line = $0; sub(/^[[:space:]]+/, "", line)
              if ($0 ~ /^[[:space:]]/) print id "  " line; else print line; next }
    /^[^[:space:]]/ { id = $1 }
  ' "$1"
}
# The estimate of one id in such a file, e.g. "31.9 µs".
estimate_of() { awk -v id="$2" '$1 == id { s = $0; sub(/.*\[/, "", s); split(s, a, " "); print a[3], a[4] }' "$1"; }
# "min / median / p90 ms" from a coldstart report line.
coldstart_spread() {
  local line min med p90
  line="$(grep '^coldstart ' <<<"$1")"
  min="$(sed -E 's/.* min_ms=([0-9.]+).*/\1/' <<<"$line")"
  med="$(sed -E 's/.* median_ms=([0-9.]+).*/\1/' <<<"$line")"
  p90="$(sed -E 's/.* p90_ms=([0-9.]+).*/\1/' <<<"$line")"
  echo "$min / $med / $p90 ms"
}

# ----------------------------------------------------- 0. paging, before
declare -A BASE_BOOT BASE_CS
if [[ "$BASELINE" != none ]]; then
  BASE_REV="$(git rev-parse --short "$BASELINE")"
  BASE_SRC="$ROOT/target/bench/baseline-src"
  BASE_OUT="$ROOT/target/bench/baseline"
  log "0. the paging path at $BASE_REV (worktree $BASE_SRC)"
  git worktree remove --force "$BASE_SRC" >/dev/null 2>&1 || rm -rf "$BASE_SRC"
  git worktree prune
  git worktree add --detach "$BASE_SRC" "$BASE_REV" >/dev/null
  # The same intake benchmark on both trees (its sanity check counts the
  # transaction's writes, which older trees' copies may have stale).
  # The baseline predates the layer crates (one crate, `klaxon`), so its
  # copy names the same items by their old paths.
  sed -E 's/\bklaxon_(core|config|ports|system|aws|app|testing|runtime)::/klaxon::\1::/g' \
    shared/app/benches/intake.rs >"$BASE_SRC/shared/benches/intake.rs"
  mkdir -p "$BASE_OUT/bin"
  # The same target directory: dependencies built once serve both trees.
  (
    cd "$BASE_SRC"
    export CARGO_TARGET_DIR="$ROOT/target"
    cargo lambda build --release --arm64 --locked -j "$JOBS" "${PAGING[@]}" --lambda-dir "$BASE_OUT/lambda"
    cargo build --release --locked -j "$JOBS" "${PAGING[@]}"
    for f in "${PAGING_FUNCTIONS[@]}"; do cp "$ROOT/target/release/$f" "$BASE_OUT/bin/$f"; done
    cargo bench --locked -j "$JOBS" -p klaxon-shared --features numbering-plan,testing --bench intake >"$BASE_OUT/intake.log" 2>&1 \
      || { tail -n 40 "$BASE_OUT/intake.log" >&2; exit 1; }
  )
  estimates "$BASE_OUT/intake.log" >"$BASE_OUT/intake.estimates"
  cargo build --release --locked -j "$JOBS" -p klaxon-tests --bin coldstart
  for f in "${PAGING_FUNCTIONS[@]}"; do
    BASE_BOOT[$f]="$(stat -c %s "$BASE_OUT/lambda/$f/bootstrap")"
    out="$(target/release/coldstart "$BASE_OUT/bin/$f" "$RUNS")"
    BASE_CS[$f]="$(coldstart_spread "$out")"
    printf '%-13s at %s: bootstrap %s B, cold start %s\n' "$f" "$BASE_REV" "$(bytes "${BASE_BOOT[$f]}")" "${BASE_CS[$f]}"
  done
  git worktree remove --force "$BASE_SRC"
fi

# ---------------------------------------------------------------- a. sizes
log "a. cargo lambda build --release --arm64 (${FUNCTIONS[*]})"
for group in "${BUILDS[@]}"; do
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
  printf '%-15s bootstrap %10s B (%s MB, budget 8 MB)  zip %10s B (%s MB, budget 3 MB)  %s\n' \
    "$f" "$(bytes "$b")" "$(mb "$b")" "$(bytes "$z")" "$(mb "$z")" "$verdict"
done

# ----------------------------------------------------------- b. cold start
log "b. cold start: native release builds + coldstart stub, interleaved with the floor ($RUNS rounds)"
for group in "${BUILDS[@]}"; do
  declare -n PKGS="$group"
  cargo build --release --locked -j "$JOBS" "${PKGS[@]}"
done
# The floor: a binary that only starts lambda_runtime, release-built too.
cargo build --release --locked -j "$JOBS" -p klaxon-tests --bin coldstart --bin bare-runtime
BINARIES=(target/release/bare-runtime)
for f in "${FUNCTIONS[@]}"; do BINARIES+=("target/release/$f"); done
# Two trust layouts: this machine's (/etc/ssl/certs, a directory of
# certificates and a bundle), and one bundle file as Lambda's provided.al2023
# is assumed to ship it (SSL_CERT_FILE, no directory). The functions trust
# Mozilla's roots compiled in, so neither should matter.
BUNDLE="${SSL_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
declare -A RATIO RATIO_BUNDLE CS_BUNDLE
FLOOR=""
FLOOR_BUNDLE=""
MAX_RATIO=2
layout() { # <label> [--env K=V]...
  local label="$1"; shift
  target/release/coldstart --interleave "$RUNS" "$@" "${BINARIES[@]}" >"$LOGS/coldstart-$label.txt"
  grep -v '^coldstart \|^ratio ' "$LOGS/coldstart-$label.txt"
}
# Each paging function's first event: what AWS hands it on a cold start.
EVENTS=(
  --event alarm-intake=events/eventbridge-alarm.json
  --event sms-reply=events/sms-reply.json
  --event escalator=events/sqs-escalation-step.json
  --event voice-call=events/voice/new-outbound-call.json
  --event bare-runtime=events/eventbridge-alarm.json
)
layout machine "${EVENTS[@]}"
layout bundle --env "SSL_CERT_FILE=$BUNDLE" --env "SSL_CERT_DIR=/nonexistent" "${EVENTS[@]}"
# "min / median / p90 ms (to <call>)" of a first-event line.
first_event() {
  sed -nE "s/^first-event name=$1 runs=[0-9]+ min_ms=([0-9.]+) median_ms=([0-9.]+) p90_ms=([0-9.]+) call=(.*)$/\1 \/ \2 \/ \3 ms (to \4)/p" "$2"
}
for f in "${FUNCTIONS[@]}"; do
  CS[$f]="$(coldstart_spread "$(grep "^coldstart name=$f " "$LOGS/coldstart-machine.txt")")"
  CS_BUNDLE[$f]="$(coldstart_spread "$(grep "^coldstart name=$f " "$LOGS/coldstart-bundle.txt")")"
  RATIO[$f]="$(sed -nE "s/^ratio name=$f .* ratio=([0-9.]+)$/\1/p" "$LOGS/coldstart-machine.txt")"
  RATIO_BUNDLE[$f]="$(sed -nE "s/^ratio name=$f .* ratio=([0-9.]+)$/\1/p" "$LOGS/coldstart-bundle.txt")"
  for r in "${RATIO[$f]}" "${RATIO_BUNDLE[$f]}"; do
    if awk -v r="$r" -v max="$MAX_RATIO" 'BEGIN { exit !(r > max) }'; then fail=1; fi
  done
  printf '%-17s init / floor: %sx (this machine), %sx (one bundle)\n' "$f" "${RATIO[$f]}" "${RATIO_BUNDLE[$f]}"
done
FLOOR="$(coldstart_spread "$(grep '^coldstart name=bare-runtime ' "$LOGS/coldstart-machine.txt")")"
FLOOR_BUNDLE="$(coldstart_spread "$(grep '^coldstart name=bare-runtime ' "$LOGS/coldstart-bundle.txt")")"
for f in bare-runtime "${PAGING_FUNCTIONS[@]}"; do
  printf '%-17s first event: %s (this machine), %s (one bundle)\n' "$f" \
    "$(first_event "$f" "$LOGS/coldstart-machine.txt")" "$(first_event "$f" "$LOGS/coldstart-bundle.txt")"
done

# ------------------------------------------------------------- c. criterion
: >"$LOGS/criterion.estimates"
BENCH_ROWS=""
if runs_part criterion; then
  for bench in app:intake config:oncall config:config app:voice app:publish; do
    crate="klaxon-${bench%%:*}" bench="${bench#*:}"
    case $crate in klaxon-app) features=(--features testing) ;; *) features=(--features numbering-plan) ;; esac
    log "c. cargo bench -p $crate ${features[*]} --bench $bench"
    if ! cargo bench --locked -j "$JOBS" -p "$crate" "${features[@]}" --bench "$bench" >"$LOGS/$bench.log" 2>&1; then
      tail -n 40 "$LOGS/$bench.log" >&2
      exit 1
    fi
    estimates "$LOGS/$bench.log" >>"$LOGS/criterion.estimates"
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
      if (id ~ /^publish\//) verdict = check(est, intake, "≤ 50 µs")
      if (id == "oncall/now_three_layers") verdict = check(est, oncall, "≤ 10 µs")
      if (id == "config/load_validate") verdict = check(est, config, "≤ 50 ms")
      printf "| `%s` | %s %s | [%s %s, %s %s] | %s |\n", id, a[3], a[4], a[1], a[2], a[5], a[6], verdict
    }
    END { exit bad }
  ' "$LOGS/criterion.estimates")" || fail=1
fi

# ------------------------------------------------------ d. on the emulator
: >"$LOGS/latency.lines"
if runs_part emulator; then
  log "d. scripts/dev.sh latency (alarm to Slack message, publisher per record)"
  scripts/dev.sh latency >"$LOGS/latency.log" 2>&1 || { tail -n 40 "$LOGS/latency.log" >&2; exit 1; }
  grep '^bench ' "$LOGS/latency.log" | tee "$LOGS/latency.lines"
fi
latency() { grep "^bench $1 " "$LOGS/latency.lines" | sed -E 's/.* min_ms=([0-9.]+) median_ms=([0-9.]+) p90_ms=([0-9.]+) n=([0-9]+).*/\1 \/ \2 \/ \3 ms (n = \4)/'; }

# ---------------------------------------------------------------- summary
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
{
  echo
  echo "### Performance budget"
  echo
  echo "Measured with \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), $(rustc --version | cut -d' ' -f1-2), ${cpu:-unknown CPU} ($(nproc) cores)."
  echo "Sizes: \`cargo lambda build --release --arm64\` (1 MB = 1,000,000 bytes). Cold start: host release build, spawn to first \`GET /runtime/invocation/next\` against a stub Runtime API, $RUNS rounds interleaved with the floor (a release binary that only starts lambda_runtime), with this machine's trust roots layout and with one bundle file (SSL_CERT_FILE=$BUNDLE)."
  echo
  echo "| Function | bootstrap (arm64) | zip | size budget (8 MB / 3 MB) | cold start min / median / p90 | / floor (≤ ${MAX_RATIO}x) | one bundle: cold start | / floor |"
  echo "|---|---:|---:|:---:|---:|---:|---:|---:|"
  printf '| bare-runtime (the floor) | | | | %s | 1 | %s | 1 |\n' "$FLOOR" "$FLOOR_BUNDLE"
  for f in "${FUNCTIONS[@]}"; do
    v="${SIZE_OK[$f]}"
    [[ "$v" == FAIL ]] && v="**FAIL**"
    printf '| %s | %s MB (%s B) | %s MB (%s B) | %s | %s | %sx | %s | %sx |\n' "$f" \
      "$(mb "${BOOT[$f]}")" "$(bytes "${BOOT[$f]}")" "$(mb "${ZIP[$f]}")" "$(bytes "${ZIP[$f]}")" \
      "$v" "${CS[$f]}" "${RATIO[$f]}" "${CS_BUNDLE[$f]}" "${RATIO_BUNDLE[$f]}"
  done
  echo
  if runs_part emulator; then
    echo "| On the emulator (\`scripts/dev.sh latency\`) | min / median / p90 |"
    echo "|---|---:|"
    echo "| alarm to Slack message (first alarm: $(sed -E 's/.* first_ms=([0-9.]+) .*/\1/' <<<"$(grep '^bench alarm_to_slack ' "$LOGS/latency.lines")") ms) | $(latency alarm_to_slack) |"
    echo "| of which the intake handler | $(latency intake_handler) |"
    echo "| event publisher, per stream record | $(latency publisher_per_record) |"
    echo
  fi
  echo "The paging functions' first event: spawn to the first AWS call its sample event (events/) makes, at a stand-in HTTPS endpoint trusted through KLAXON_EXTRA_CA_FILE (init, the handler, credentials, signing and the TLS handshake); the floor: spawn to its answer."
  echo
  echo "| Function | first event, this machine's layout (min / median / p90) | one bundle |"
  echo "|---|---:|---:|"
  for f in bare-runtime "${PAGING_FUNCTIONS[@]}"; do
    printf '| %s | %s | %s |\n' "$f" "$(first_event "$f" "$LOGS/coldstart-machine.txt")" "$(first_event "$f" "$LOGS/coldstart-bundle.txt")"
  done
  echo
  if [[ "$BASELINE" != none ]]; then
    echo "The paging path at $BASE_REV (before) and now (after):"
    echo
    echo "| | bootstrap before → after | cold start before → after (min / median / p90) |"
    echo "|---|---:|---:|"
    for f in "${PAGING_FUNCTIONS[@]}"; do
      printf '| %s | %s → %s MB | %s → %s |\n' "$f" "$(mb "${BASE_BOOT[$f]}")" "$(mb "${BOOT[$f]}")" "${BASE_CS[$f]}" "${CS[$f]}"
    done
    for id in $(awk '$1 ~ /^intake\/full\// { print $1 }' "$BASE_OUT/intake.estimates"); do
      printf '| `%s` | %s → %s | |\n' "$id" "$(estimate_of "$BASE_OUT/intake.estimates" "$id")" "$(estimate_of "$LOGS/criterion.estimates" "$id")"
    done
    echo
  fi
  if runs_part criterion; then
    echo "| Benchmark (criterion) | estimate | 95% CI | budget |"
    echo "|---|---:|---:|:---:|"
    printf '%s\n' "$BENCH_ROWS"
    echo
  fi
  [[ -n "${BENCH_SKIP:-}" ]] && echo "Skipped (BENCH_SKIP): ${BENCH_SKIP}." && echo
  if ((fail)); then echo "**Budget missed.**"; else echo "All budgets met."; fi
} | tee "$LOGS/summary.md"

exit "$fail"
