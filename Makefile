# Two commands for a fresh machine:
#   make demo   set up everything and run the demo scenario
#   make test   set up everything and run every test
.PHONY: demo test up down check bench fuzz storm

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

# Sizes, cold start and intake latency.
bench:
	scripts/bench.sh

# Property-based fuzzing of every parser (alarm events, SNS envelope, SMS
# replies, configuration), FUZZ_CASES cases per property (make test runs 256).
FUZZ_CASES ?= 100000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) cargo test --locked -p klaxon-shared --lib app::fuzz

# The alarm storm benchmark: 1,000 alarms x 10 deliveries, 50 at a time,
# on a fresh emulator (about XX minutes). STORM_ARGS to change it.
storm:
	scripts/dev.sh storm
