#!/bin/sh
# Installs the Debian 12 packages Rapport builds and tests against, and only
# those that are missing. `make run`, `make test` and CI call it before every
# build, so it must be cheap and silent when the machine is already set up.
#
# The compilers and tools (gcc, g++, make, cmake, git, python3, clang,
# valgrind, curl) are expected to be present; everything else we use comes
# from the list below: the libraries Rapport builds against (and pkgconf to
# find them), sqlite3 (the shell with which tests/e2e/test_record.py edits
# a record behind Rapport's back), and chromium, the headless browser in
# which tests/e2e/test_html_browser.py reads an HTML note as a reader sees
# it. The
# package index is refreshed once, and only when something has to be
# installed.
#
# Usage: scripts/deps.sh            the build and test dependencies
#        scripts/deps.sh PKG...     those packages instead (`make lint` asks
#                                   for clang-format and cppcheck this way,
#                                   `make fuzz` for libclang-rt-14-dev:
#                                   clang's libFuzzer and sanitizer runtimes)
set -eu

PACKAGES="
  pkgconf
  liblua5.4-dev
  libyaml-dev
  libyajl-dev
  libcmocka-dev
  libuv1-dev
  libcmark-gfm-dev
  libcmark-gfm-extensions-dev
  libhttp-parser-dev
  libsqlite3-dev
  libsodium-dev
  sqlite3
  chromium
"
if [ $# -gt 0 ]; then
  PACKAGES="$*"
fi

missing=""
for pkg in $PACKAGES; do
  # A removed package can linger as "deinstall ok config-files"; only a fully
  # installed one counts.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing="$missing $pkg"
  fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing Debian packages:$missing" >&2
  echo "deps.sh: run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
  exit 1
fi

echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
apt-get install -y -q --no-install-recommends $missing
