#!/usr/bin/env bash
# Install everything the tests need from the project's own files, build the static site, and run
# every test (ruff, pytest: native tests and the Playwright tests in Debian Chromium).
# Works on a fresh Debian machine as root (CI) or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_apt=""
command -v chromium >/dev/null 2>&1 || need_apt="$need_apt chromium"
command -v npm >/dev/null 2>&1 || need_apt="$need_apt nodejs npm"  # the site build's npm ci
command -v slurmctld >/dev/null 2>&1 || need_apt="$need_apt slurm-wlm"  # the Slurm executor's
command -v munged >/dev/null 2>&1 || need_apt="$need_apt munge"         # one-node test cluster
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt="$need_apt postgresql"
if [ -n "$need_apt" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need_apt
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test,worker,s3,postgres]"
python3 -m server_worker.cli build
python3 -m ruff check .
python3 -m pytest -q -p no:cacheprovider "$@"
