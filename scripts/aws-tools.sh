#!/usr/bin/env bash
# Installs what `sam build` needs and nothing else, idempotently: the project venv with the SAM CLI and
# cargo-lambda, whose PyPI package brings Zig (the `ziglang` package) to link the Lambda binaries, so no
# system linker or cross toolchain is needed. Rust itself (cargo) must be there already. Not the test suite's tools (scripts/tools.sh): no Chromium, JRE,
# ffmpeg, espeak-ng or model sources. Works off Debian: apt-get is used only where it exists.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2

if ! command -v cargo >/dev/null; then
  echo "please install Rust (cargo), e.g. with rustup from https://rustup.rs, then run this again" >&2
  exit 1
fi
source scripts/venv.sh
install_sam
pin cargo-lambda "$CARGO_LAMBDA_VERSION"

