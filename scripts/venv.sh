# Sourced by the scripts that install Python tools: the project venv (.venv/), pinned installs into it, and
# the project's SAM CLI with its own state folder. Needs only Python 3 with its venv module; on Debian that
# is installed when missing, elsewhere the message says what to install.
SAM_CLI_VERSION=1.170.0

source scripts/apt.sh
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if command -v apt-get >/dev/null; then
    apt_install python3-venv
  else
    echo "please install Python 3 with its venv module (\`python3 -m venv\` must work), then run this again" >&2
    exit 1
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv

have() { .venv/bin/python -m pip show "$1" 2>/dev/null | grep -qx "Version: $2"; }
# Installs package $1 at version $2 into the venv unless that version is there.
pin() { have "$1" "$2" || .venv/bin/python -m pip install -q "$1==$2"; }

# SAM's own state: telemetry off and its weekly PyPI version check marked done far in the future, so `sam`
# sends nothing anywhere (scripts/sam points SAM at this folder).
install_sam() {
  pin aws-sam-cli "$SAM_CLI_VERSION"
  mkdir -p .tools/sam
  [ -f .tools/sam/metadata.json ] || echo '{"telemetryEnabled": false, "lastVersionCheck": 4102444800.0}' > .tools/sam/metadata.json
}
