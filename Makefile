# Two commands for a fresh machine:
#   make demo   set up everything and run the demo scenario
#   make test   set up everything and run every test
.PHONY: demo test up down check bench

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
