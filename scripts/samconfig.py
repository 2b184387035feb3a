"""The stack's parameter overrides in samconfig.toml (written by `sam deploy --guided`), for the scripts that
build and deploy: `architecture` prints the Architecture the deploy is configured with (empty if none),
`overrides ARCH` prints every configured override with Architecture set to ARCH, as --parameter-overrides
takes them (which replace the file's, so none may be lost)."""

import shlex
import sys

try:
    import tomllib
except ImportError:  # Python before 3.11: the SAM CLI's own TOML library, in the same venv
    import tomlkit as tomllib

PATH = "samconfig.toml"


def configured():
    try:
        with open(PATH, "rb") as f:
            config = tomllib.loads(f.read().decode())
    except FileNotFoundError:
        return {}
    text = config.get("default", {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    if isinstance(text, list):
        text = " ".join(text)
    return dict(item.split("=", 1) for item in shlex.split(text))


def quoted(value):
    """A value in double quotes, as `sam deploy --guided` writes them and --parameter-overrides reads them."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(args):
    overrides = configured()
    if args == ["architecture"]:
        print(overrides.get("Architecture", ""))
    elif len(args) == 2 and args[0] == "overrides":
        overrides["Architecture"] = args[1]
        print(" ".join(f"{k}={quoted(v)}" for k, v in overrides.items()))
    else:
        sys.exit("usage: samconfig.py architecture | overrides ARCH")


main(sys.argv[1:])
