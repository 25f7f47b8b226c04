# Two commands for a fresh machine:
#   make demo   set up everything and run the demo scenario
#   make test   set up everything and run every test
.PHONY: demo test up down check template bench fuzz storm

demo:
	scripts/dev.sh demo

test:
	scripts/dev.sh test

# Leave a local stack running for manual tries (cargo lambda invoke, klaxon CLI).
up:
	scripts/dev.sh up

down:
	scripts/dev.sh down

# What CI runs besides the tests.
check:
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings
	scripts/check-infra.sh

# infra/template.yaml's repeated blocks (each function's log group and
# failing alarm) from infra/functions.yaml; CI checks the result is current.
template:
	scripts/local-aws.sh setup >/dev/null
	.venv/bin/python scripts/generate_template.py

# Sizes, cold start and intake latency.
bench:
	scripts/bench.sh

# Property-based fuzzing of every parser (alarm events, raw event bytes, SNS
# envelope, SMS replies, configuration) for FUZZ_SECONDS per parser, fresh
# seeds round after round; prints executions and failures per parser (make
# test runs 256 cases of each property).
FUZZ_SECONDS ?= 600
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --locked -p klaxon-app --lib fuzz -- --ignored --nocapture

# The alarm storm benchmark: 1,000 alarms x 10 deliveries, 50 at a time,
# 20 escalator batches, on a fresh emulator (about 10 minutes on 2 cores;
# figures in the README). STORM_ARGS to change it, e.g. --alarms 200.
storm:
	scripts/dev.sh storm
