#!/usr/bin/env bash
# Static checks of the SAM template, offline: `sam validate --lint` and cfn-lint.
# Uses the project venv (run scripts/local-aws.sh setup first on a fresh machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TEMPLATE="infra/template.yaml"

for tool in sam cfn-lint; do
  [[ -x "$VENV/bin/$tool" ]] || {
    echo "check-infra: $VENV/bin/$tool missing; run scripts/local-aws.sh setup" >&2
    exit 1
  }
done

# Offline: no telemetry, no credential/region lookups against real AWS.
export SAM_CLI_TELEMETRY=0
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"

cd "$ROOT"
echo "check-infra: sam validate --lint -t $TEMPLATE"
"$VENV/bin/sam" validate --lint -t "$TEMPLATE"
echo "check-infra: cfn-lint $TEMPLATE"
"$VENV/bin/cfn-lint" "$TEMPLATE"
# The integration examples on the event bus (README, "Incident events").
for example in examples/integrations/*.yaml; do
  echo "check-infra: cfn-lint $example"
  "$VENV/bin/cfn-lint" "$example"
done
echo "check-infra: ok"
