#!/bin/bash
# managed by hacknode: make a virtualenv from local wheelhouses only (class servers may have no internet).
# Installed as /opt/hacknode/bin/make-venv (deploy/core/layout.py MAKE_VENV), run by root for its tools virtualenv
# and each team's first one (apply-lib.sh hn_team_env), and by each team (release.sh env) for the ones its
# deploys make, as the user who owns the virtualenv.
#
# Usage: make-venv DIR UV_CACHE WHEELHOUSE... -- REQUIREMENT...    (REQUIREMENT as pip takes them: -r FILE, names)
#
# With uv when it runs here: provisioning unpacks it from the shipped wheelhouse beside this program. uv keeps
# the unpacked wheels in UV_CACHE and hard-links them into DIR. A team's own deploys use a cache in its home (uv
# refuses a cache it cannot write, and a shared writable one would let a team change another team's files); the
# teams' first virtualenvs share root's cache, whose files no team can write. Where uv cannot run (another libc, a CPU it was not
# built for, not unpacked), one line says so and python3 -m venv + pip do the same, slower.
set -euo pipefail

usage() { echo "usage: make-venv DIR UV_CACHE WHEELHOUSE... -- REQUIREMENT..." >&2; exit 2; }

[ $# -ge 2 ] || usage
dir=$1 cache=$2
shift 2
find_links=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    [ -d "$1" ] && find_links+=(--find-links "$1")
    shift
done
[ $# -ge 2 ] || usage
shift   # the --
[ ${#find_links[@]} -gt 0 ] || { echo "make-venv: none of the wheelhouses exists on this server" >&2; exit 1; }

uv="$(dirname "$(readlink -f "$0")")/uv"
if [ -x "$uv" ] && "$uv" --version >/dev/null 2>&1; then
    # MALLOC_ARENA_MAX: a team's processes run under its address-space limit (inventory memory_mb), which counts
    # glibc's 64 MB arena per thread: at 512 MB, uv's threads could not start (a panic, seen on a class server)
    export UV_CACHE_DIR=$cache UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1 UV_LINK_MODE=hardlink MALLOC_ARENA_MAX=2
    rm -rf "$dir"
    "$uv" venv --quiet --python python3 "$dir"
    exec "$uv" pip install --quiet --offline --no-index "${find_links[@]}" --python "$dir/bin/python" "$@"
fi
if [ -e "$uv" ]; then why="$("$uv" --version 2>&1 | head -n 1 || true)"; else why="no $uv"; fi
echo "make-venv: uv cannot run here (${why:-it exits with an error}): python3 -m venv + pip instead (slower)"
rm -rf "$dir"
python3 -m venv "$dir"
exec "$dir/bin/pip" install --quiet --no-index --no-cache-dir --disable-pip-version-check "${find_links[@]}" "$@"
