# The two commands: `make run` starts the whole platform locally; `make test` runs the full suite (CI).
SHELL := /bin/bash
.PHONY: run test lint bench fmt tools

run:
	cargo run -p functions --bin call-analytics -- serve

test: lint
	cargo test --workspace --all-features
	cargo bench -p functions --bench ingest_load --profile dev -- --smoke

lint: tools
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	.venv/bin/cfn-lint template.yaml
	scripts/sam validate --lint

tools:
	scripts/tools.sh

bench:
	cargo bench -p functions --bench ingest_load

fmt:
	cargo fmt --all
