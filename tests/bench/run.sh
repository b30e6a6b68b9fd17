#!/bin/sh
# Benchmark: Rapport's `mustache` command against mustache.js, hogan.js,
# Handlebars (compat mode) and Jinja2 on generated SOAP progress notes; then
# `rapport render` on a batch of generated SOAP sessions (notes.py); then
# `rapport watch`'s save-to-output latency beside entr (watch.py); then the
# signed record: signs per second, verify time and size per note (record.py).
# `make bench` runs it after building; it builds nothing itself.
#
# Usage: tests/bench/run.sh [--peers-only] [-n N] [--runs R] [--single-runs R]
#                           [--engines a,b] [--rapport PATH]
#
# Installs what the peers need when it is missing: Debian's python3-jinja2
# (and nodejs/npm) with apt-get, and the pinned npm packages of
# tests/bench/package.json into tests/bench/node_modules. Data, outputs and
# results.md go to build/bench/. See tests/bench/README.md.
set -eu

cd "$(dirname "$0")/../.."
bench=tests/bench

# The Jinja peer needs Debian's interpreter, where python3-jinja2 lives; the
# python3 first on PATH may be another one.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: missing Debian packages: $*; install them (as root: apt-get install $*)" >&2
    exit 1
  fi
  echo "bench: installing $*" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

if ! "$PY" -c 'import jinja2' 2>/dev/null; then
  apt_install python3-jinja2
fi
# GNU time measures each engine's peak memory (see bench.py).
if [ ! -x /usr/bin/time ]; then
  apt_install time
fi
# The watch benchmark's peer: entr driving `rapport render`.
if ! command -v entr >/dev/null 2>&1; then
  apt_install entr
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi

# The peers, at the versions pinned in package.json; reinstalled only when
# one is missing or at another version.
if ! node -e '
  const pins = require("./'$bench'/package.json").dependencies;
  for (const [name, version] of Object.entries(pins)) {
    const got = require("./'$bench'/node_modules/" + name + "/package.json").version;
    if (got !== version) process.exit(1);
  }' 2>/dev/null; then
  echo "bench: installing peer engines into $bench/node_modules" >&2
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$bench" >&2
fi

status=0
"$PY" "$bench/bench.py" --python "$PY" "$@" || status=1
# The notes pipeline (validation, plugins, layout) on a batch of sessions.
# It takes -n only; the engine comparison's other options do not apply.
notes_args=""
notes=yes
while [ $# -gt 0 ]; do
  case $1 in
    -n) notes_args="-n $2"; shift 2 ;;
    --peers-only) notes=no; shift ;;
    *) shift ;;
  esac
done
if [ "$notes" = yes ]; then
  # shellcheck disable=SC2086 # notes_args is empty or "-n N"
  "$PY" "$bench/notes.py" --python "$PY" $notes_args || status=1
  # Watch mode: save-to-output latency beside entr, and memory over 1,000 edits.
  "$PY" "$bench/watch.py" || status=1
  # The signed record: sign and verify 10,000 sessions (synchronous=FULL).
  "$PY" "$bench/record.py" || status=1
fi
exit $status
