#!/usr/bin/env bash
# Set up everything `make demo` and `make test` need, on a fresh Debian/Ubuntu machine.
#   scripts/setup.sh python   the virtualenv (.venv) with Yadori and its pinned dependencies
#   scripts/setup.sh system   Debian packages (as root) and a running PostgreSQL, if there is one
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(chromium poppler-utils fonts-ipaexfont)

python_env() {
  local py=${PYTHON:-python3}
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: Python 3.11 or newer is needed (found: $("$py" --version 2>&1))" >&2
    exit 1
  fi
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
}

debian_packages() {
  command -v dpkg-query >/dev/null || { echo "setup: not a Debian system; install ${DEBIAN_PACKAGES[*]} yourself"; return 0; }
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages; run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    return 0
  fi
  echo "setup: installing ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "setup: WARNING: could not install ${missing[*]}; tests that need them will say so" >&2
  fi
}

postgresql() {
  command -v pg_isready >/dev/null || { echo "setup: no PostgreSQL client here; PostgreSQL tests will say so"; return 0; }
  pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "setup: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 0.5; done
  fi
  echo "setup: WARNING: PostgreSQL is not running at 127.0.0.1:5432; its tests will say so" >&2
}

case "${1:-all}" in
  python) python_env ;;
  system) debian_packages; postgresql ;;
  all) python_env; debian_packages; postgresql ;;
  *) echo "usage: $0 [python|system|all]" >&2; exit 2 ;;
esac
