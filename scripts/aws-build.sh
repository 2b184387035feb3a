#!/usr/bin/env bash
# `make aws-build`: every Lambda for `sam deploy`, built for the stack's architecture: ARCH (x86_64 or arm64),
# else the Architecture samconfig.toml deploys (from an earlier `sam deploy --guided`), else x86_64. SAM
# resolves the template's Architectures from the override, so cargo-lambda builds with --arm64 for arm64.
# The architecture built is kept in .aws-sam/architecture for `make aws-deploy` to check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/aws-tools.sh
arch=${ARCH:-$(.venv/bin/python scripts/samconfig.py architecture)}
arch=${arch:-x86_64}
case "$arch" in
  x86_64) ;;
  arm64)
    if command -v rustup >/dev/null; then
      rustup target add aarch64-unknown-linux-gnu
    elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu" ]; then
      echo "please install Rust's aarch64-unknown-linux-gnu target (the arm64 Lambdas are built for it)" >&2
      exit 1
    fi
    ;;
  *) echo "ARCH=$arch: the stack's Architecture is x86_64 or arm64" >&2; exit 2 ;;
esac
rm -f .aws-sam/architecture
scripts/sam build --parameter-overrides "Architecture=$arch"
echo "$arch" > .aws-sam/architecture
echo "built for $arch; deploy with make aws-deploy (GUIDED=1 the first time)"
