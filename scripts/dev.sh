#!/usr/bin/env bash
# Developer entry points (the Makefile calls these).
#
#   scripts/dev.sh demo    set up the emulator, then run the demo scenario
#   scripts/dev.sh test    set up the emulator, then run every test
#   scripts/dev.sh up      emulator + stack "klaxon" + escalation pump, left running
#   scripts/dev.sh down    stop what `up` started
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.klaxon"
cd "$ROOT"

emulator_running() { scripts/local-aws.sh status >/dev/null 2>&1; }

start_emulator() {
  scripts/local-aws.sh start
  # shellcheck disable=SC1091
  source "$STATE/env"
}

case "${1:-}" in
  demo)
    start_emulator
    cargo run --locked -q -p klaxon-tests --bin klaxon-local -- demo
    ;;
  test)
    started_here=0
    emulator_running || started_here=1
    start_emulator
    if [[ $started_here == 1 ]]; then
      trap 'scripts/local-aws.sh stop >/dev/null 2>&1' EXIT
    fi
    log="$STATE/test.log"
    set +e
    cargo test --workspace --locked 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    # One closing line for the whole run (cargo prints one per test binary).
    awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i == "passed;") p += $(i - 1); if ($i == "failed;") f += $(i - 1) } }
         END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
    exit "$status"
    ;;
  up)
    start_emulator
    cargo build --locked -q -p klaxon-tests --bin klaxon-local -p klaxon-cli
    target/debug/klaxon-local up
    if [[ -f "$STATE/pump.pid" ]] && kill -0 "$(cat "$STATE/pump.pid")" 2>/dev/null; then
      echo "escalation pump already running (pid $(cat "$STATE/pump.pid"))"
    else
      nohup target/debug/klaxon-local pump >"$STATE/pump.log" 2>&1 </dev/null &
      echo $! >"$STATE/pump.pid"
      echo "escalation pump started (pid $!, log .klaxon/pump.log)"
    fi
    cat <<'MSG'

The local stack is running. In each new shell:
  source .klaxon/env && source .klaxon/stack.env
Then, for example:
  cargo lambda watch </dev/null &            # serves the three functions
  cargo lambda invoke alarm-intake --data-file events/eventbridge-alarm.json
  cargo run -q -p klaxon-cli -- incidents list
Stop everything with: make down
MSG
    ;;
  down)
    if [[ -f "$STATE/pump.pid" ]]; then
      kill "$(cat "$STATE/pump.pid")" 2>/dev/null || true
      rm -f "$STATE/pump.pid"
    fi
    scripts/local-aws.sh stop
    ;;
  *)
    echo "usage: scripts/dev.sh demo|test|up|down" >&2
    exit 2
    ;;
esac
