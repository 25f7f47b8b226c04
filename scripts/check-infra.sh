#!/usr/bin/env bash
# Static checks of the SAM template, offline: `sam validate --lint`, cfn-lint
# and checkov (security checks; a finding is fixed, or waived on its resource
# in the template with the reason).
# Uses the project venv (run scripts/local-aws.sh setup first on a fresh machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TEMPLATE="infra/template.yaml"

for tool in sam cfn-lint checkov; do
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
# The repeated blocks are generated from infra/functions.yaml (make template).
"$VENV/bin/python" scripts/generate_template.py --check
echo "check-infra: sam validate --lint -t $TEMPLATE"
"$VENV/bin/sam" validate --lint -t "$TEMPLATE"
echo "check-infra: cfn-lint $TEMPLATE"
"$VENV/bin/cfn-lint" "$TEMPLATE"
# The integration examples on the event bus (README, "Incident events").
for example in examples/integrations/*.yaml; do
  echo "check-infra: cfn-lint $example"
  "$VENV/bin/cfn-lint" "$example"
done

# checkov, offline: --skip-download and BC_SKIP_MAPPING keep it off the
# Prisma Cloud (Bridgecrew) API; no API key is ever given. It exits 1 on a
# failed check. A finding is waived only in the template, on its resource:
#   Metadata: {checkov: {skip: [{id: CKV_AWS_..., comment: "why"}]}}
# checkov leaves out a resource whose Condition is false with the
# parameters' defaults (the status page's and the voice resources), so a
# copy with every optional feature on is scanned too. checkov also exits 0
# on a template it could not parse, so its JSON report is read: no parsing
# error, resources scanned, nothing failed, a reason on every waiver. (Not
# --quiet: that drops the waived checks from the report; the failures are
# printed from it below, as --compact would.)
report="$(mktemp -d)"
trap 'rm -rf "$report"' EXIT
"$VENV/bin/python" - "$TEMPLATE" "$report/all-features.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for name, value in [("StatusPage", "enabled"), ("VoiceFromNumber", '"+15555550100"'),
                    ("SelfTestIntervalMinutes", "15"), ("OperatorEmail", "ops@example.com"),
                    ("OperatorPhone", '"+15555550101"')]:
    text, n = re.subn(rf"^(  {name}:\n(?:    .*\n)*?    Default: ).*$", rf"\g<1>{value}", text, count=1, flags=re.M)
    if n != 1:
        sys.exit(f"check-infra: parameter {name} has no Default to switch on")
open(sys.argv[2], "w").write(text)
PY
failed=0
for scan in "$TEMPLATE" "$report/all-features.yaml"; do
  echo "check-infra: checkov -f ${scan#"$report"/}"
  out="$report/$(basename "$scan" .yaml).json"
  rc=0
  BC_SKIP_MAPPING=TRUE "$VENV/bin/checkov" -f "$scan" --framework cloudformation \
    --skip-download --output json >"$out" || rc=$?
  "$VENV/bin/python" - "$out" "$rc" <<'PY' || failed=1
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
report = json.load(open(path))
if isinstance(report, list):  # one report per framework; only cloudformation runs
    (report,) = report
# With nothing to check, checkov prints the bare summary.
summary, results = report.get("summary", report), report.get("results", {})
for c in results.get("failed_checks", []):
    lines = "-".join(str(n) for n in c.get("file_line_range", []))
    print(f"  FAILED {c['check_id']} {c['check_name']}\n    {c['resource']} (lines {lines})")
problems = []
if summary["parsing_errors"]:
    problems.append(f"{summary['parsing_errors']} parsing error(s)")
if not summary["resource_count"]:
    problems.append("no resource scanned")
if summary["failed"] or rc:
    problems.append(f"{summary['failed']} failed check(s) (exit {rc})")
for c in results.get("skipped_checks", []):
    comment = (c.get("check_result") or {}).get("suppress_comment") or ""
    if not comment.strip() or comment == "No comment provided":
        problems.append(f"{c['check_id']} waived on {c['resource']} without a reason")
if problems:
    sys.exit("check-infra: checkov: " + "; ".join(problems))
print(f"check-infra: checkov: {summary['passed']} passed, 0 failed, {summary['skipped']} waived")
PY
done
[[ "$failed" == 0 ]] || exit 1
echo "check-infra: ok"
