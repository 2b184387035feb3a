# Sourced by the scripts that need Debian packages: installs them when a command is missing.
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "please install: $*" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
}
