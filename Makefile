# The two commands: `make run` starts the whole platform locally; `make test` runs the full suite (CI).
SHELL := /bin/bash
.PHONY: run test lint bench fuzz fmt tools web models aws-build aws-deploy aws-coldstart aws-web

run: web models
	cargo run -p functions --bin call-analytics -- serve

test: lint web
	cargo test --workspace --all-features
	cargo build -p functions --bin call-analytics --all-features
	scripts/schemathesis.sh
	npm test --prefix web
	cargo bench -p functions --bench ingest_load --profile dev -- --smoke
	cargo bench -p functions --bench audiohook_serve --profile dev -- --smoke
	cargo bench -p listener --bench audiohook_load --profile dev -- --smoke
	cargo bench -p shared --bench audio_decode --profile dev -- --smoke
	cargo bench -p shared --bench analysis --profile dev -- --smoke
	cargo bench -p shared --features whisper --bench whisper_rtf --profile dev -- --smoke
	cargo bench -p listener --features whisper --bench live_transcription --profile dev -- --smoke

lint: tools
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	.venv/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 scripts/sam validate --lint

tools:
	scripts/tools.sh

# cmake for whisper.cpp, and the tiny.en model in data/models on first run (offline transcription by default).
models:
	scripts/models.sh

# Builds the web UI into web/dist (served by `call-analytics serve` at /).
web:
	scripts/web.sh

# Builds every Lambda for `sam deploy` (release, cargo-lambda from the venv; ~15 min cold on 2 cores), for
# ARCH (x86_64 or arm64; default: the Architecture samconfig.toml deploys, else x86_64). Installs only what
# `sam build` needs (scripts/aws-tools.sh), not the test suite's tools.
aws-build:
	scripts/aws-build.sh

# `sam deploy` of that build (GUIDED=1 asks every question and saves the answers to samconfig.toml); refuses
# a stack configured for the other architecture.
aws-deploy:
	scripts/aws-deploy.sh $(if $(GUIDED),--guided)

# Publishes the web UI to the deployed stack (STACK, default call-analytics): S3 behind CloudFront.
aws-web:
	scripts/deploy-web.sh $(or $(STACK),call-analytics)

# Cold start of each built Lambda against a fake Runtime API and moto, on loopback (after aws-build).
aws-coldstart: tools
	.venv/bin/python scripts/lambda-coldstart.py

bench:
	cargo bench -p functions --bench ingest_load
	cargo bench -p functions --bench audiohook_serve
	cargo bench -p listener --bench audiohook_load
	cargo bench -p shared --bench audio_decode
	cargo bench -p shared --bench analysis
	cargo bench -p shared --features whisper --bench whisper_rtf
	cargo bench -p listener --features whisper --bench live_transcription

# The long fuzz run: every parser a client reaches, FUZZ_SECONDS (60) per target, then a table of executions
# and failures (log in target/fuzz.log). `make test` runs the same targets briefly (FUZZ_CASES, 256 each).
fuzz:
	scripts/fuzz.sh

fmt:
	cargo fmt --all
