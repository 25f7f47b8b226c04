#!/usr/bin/env bash
# Developer entry points (the Makefile calls these).
#
#   scripts/dev.sh demo    set up the emulator, then run the demo scenario
#   scripts/dev.sh test    set up the emulator, then run every test
#   scripts/dev.sh up      emulator + stack "klaxon" + escalation pump, left running,
#                          and the klaxon CLI built and linked as .klaxon/bin/klaxon
#   scripts/dev.sh watch   `cargo lambda watch` (its arguments passed on) with
#                          each function run as its deployed role, as Lambda
#                          does (after `up`, with .klaxon/env and
#                          .klaxon/stack.env sourced)
#   scripts/dev.sh down    stop what `up` started
#   scripts/dev.sh storm   the alarm storm benchmark on a fresh emulator
#                          (STORM_ARGS, e.g. "--alarms 1000 --deliveries 10")
#   scripts/dev.sh latency alarm to Slack message, and the event publisher per
#                          stream record, on a fresh emulator (BENCH_ALARMS, 30)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.klaxon"
cd "$ROOT"

# Where cargo puts binaries (honours CARGO_TARGET_DIR and .cargo/config).
target_dir() {
  cargo metadata --format-version 1 --no-deps --locked \
    | "$ROOT/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# Says what a build is about to do: a first build is long and otherwise silent.
building() {
  echo "dev: building $* (the first build compiles the AWS SDK and takes several minutes on 2 cores; later ones take seconds)"
}

emulator_running() { scripts/local-aws.sh status >/dev/null 2>&1; }

start_emulator() {
  scripts/local-aws.sh start
  # shellcheck disable=SC1091
  source "$STATE/env"
}

case "${1:-}" in
  demo)
    start_emulator
    building "klaxon-local, the demo harness"
    cargo build --locked -p klaxon-tests --bin klaxon-local
    target="$(target_dir)"
    "$target/debug/klaxon-local" demo
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
    # The emulator's own extensions (scripts/moto_ext): CloudFormation
    # resources, custom resources, delivery off, the filter endpoint.
    "$ROOT/.venv/bin/python" scripts/test_moto_ext.py 2>&1 | tee "$STATE/test-moto-ext.log"
    ext_status=${PIPESTATUS[0]}
    # Each assumed role's policies enforced (scripts/moto_ext/iam.py).
    "$ROOT/.venv/bin/python" scripts/test_iam.py 2>&1 | tee -a "$STATE/test-moto-ext.log"
    [[ ${PIPESTATUS[0]} == 0 ]] || ext_status=1
    # The SIP media application's custom resource (infra/voice_setup/).
    "$ROOT/.venv/bin/python" scripts/test_voice_setup.py 2>&1 | tee -a "$STATE/test-moto-ext.log"
    [[ ${PIPESTATUS[0]} == 0 ]] || ext_status=1
    # DynamoDB Local behind the emulator (scripts/moto_ext/ddblocal.py).
    if [[ "${KLAXON_DYNAMODB:-dynamodb-local}" == dynamodb-local ]]; then
      "$ROOT/.venv/bin/python" scripts/test_ddblocal.py 2>&1 | tee -a "$STATE/test-moto-ext.log"
      [[ ${PIPESTATUS[0]} == 0 ]] || ext_status=1
    fi
    cargo test --workspace --locked 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    if [[ $ext_status != 0 ]]; then
      echo "scripts/test_moto_ext.py, test_iam.py, test_voice_setup.py or test_ddblocal.py failed (see .klaxon/test-moto-ext.log)"
      [[ $status == 0 ]] && status=$ext_status
    fi
    # One closing line for the whole run (cargo prints one per test binary).
    awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i == "passed;") p += $(i - 1); if ($i == "failed;") f += $(i - 1) } }
         END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
    exit "$status"
    ;;
  up)
    start_emulator
    building "klaxon-local (stack and pump) and the klaxon CLI"
    cargo build --locked -p klaxon-tests --bin klaxon-local
    # The CLI in its own invocation: built together with klaxon-tests, cargo
    # would unify the features of the crates they share, and the user's first
    # `cargo build -p klaxon-cli` (or `cargo run`) would compile it all again.
    cargo build --locked -p klaxon-cli
    target="$(target_dir)"
    mkdir -p "$STATE/bin"
    ln -sfn "$target/debug/klaxon" "$STATE/bin/klaxon"
    "$target/debug/klaxon-local" up
    if [[ -f "$STATE/pump.pid" ]] && kill -0 "$(cat "$STATE/pump.pid")" 2>/dev/null; then
      echo "escalation pump already running (pid $(cat "$STATE/pump.pid"))"
    else
      nohup "$target/debug/klaxon-local" pump >"$STATE/pump.log" 2>&1 </dev/null &
      echo $! >"$STATE/pump.pid"
      echo "escalation pump started (pid $!, log .klaxon/pump.log)"
    fi
    cat <<'MSG'

The local stack is running. In each new shell:
  source .klaxon/env && source .klaxon/stack.env
Then, for example:
  scripts/dev.sh watch </dev/null &          # cargo lambda watch, each function as its role; port 9000 (--invoke-port)
  cargo lambda invoke alarm-intake --data-file events/eventbridge-alarm.json
  klaxon incidents list                      # .klaxon/bin/klaxon, on PATH through .klaxon/env
Stop everything with: make down
MSG
    ;;
  storm)
    # A fresh emulator: moto slows down as it accumulates state.
    scripts/local-aws.sh stop >/dev/null 2>&1 || true
    start_emulator
    trap 'scripts/local-aws.sh stop >/dev/null 2>&1' EXIT
    # The debug build the demo uses: the time is the emulator's, not the
    # handlers' (the storm prints both processes' CPU time).
    building "klaxon-local, the storm harness"
    cargo build --locked -p klaxon-tests --bin klaxon-local
    target="$(target_dir)"
    # shellcheck disable=SC2086
    "$target/debug/klaxon-local" storm ${STORM_ARGS:-}
    ;;
  latency)
    # A fresh emulator, as for the storm. The benchmark is an ignored test
    # in tests/it/notifications.rs (the debug build `make test` uses): it
    # prints `bench <what> min_ms=... median_ms=... p90_ms=...` lines.
    scripts/local-aws.sh stop >/dev/null 2>&1 || true
    start_emulator
    trap 'scripts/local-aws.sh stop >/dev/null 2>&1' EXIT
    building "the integration tests"
    cargo test --locked -p klaxon-tests --test it -- --ignored --exact \
      notifications::bench_alarm_to_slack_message_and_publisher_per_record --nocapture
    ;;
  watch)
    shift
    if [[ -z "${KLAXON_STACK:-}" || -z "${AWS_ENDPOINT_URL:-}" ]]; then
      echo "dev: source .klaxon/env and .klaxon/stack.env first (make up writes them)" >&2
      exit 2
    fi
    target="$(target_dir)"
    if [[ ! -x "$target/debug/klaxon-local" ]]; then
      building "klaxon-local, the functions' runner"
      cargo build --locked -p klaxon-tests --bin klaxon-local
    fi
    # cargo lambda watch starts each function with `cargo run --bin <name>`;
    # cargo runs the binary through this runner, which gives it the
    # credentials of the role <stack>-<name> was deployed with.
    host="$(rustc -vV | sed -n 's/^host: //p')"
    runner_var="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
    export "$runner_var=$target/debug/klaxon-local lambda-runner"
    exec cargo lambda watch "$@"
    ;;
  down)
    if [[ -f "$STATE/pump.pid" ]]; then
      kill "$(cat "$STATE/pump.pid")" 2>/dev/null || true
      rm -f "$STATE/pump.pid"
    fi
    scripts/local-aws.sh stop
    ;;
  *)
    echo "usage: scripts/dev.sh demo|test|up|watch|down|storm|latency" >&2
    exit 2
    ;;
esac
