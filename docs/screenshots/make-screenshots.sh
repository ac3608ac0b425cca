#!/usr/bin/env bash
# Makes the README's screenshots from a real run under Xvfb at 1280x800.
# Usage: docs/screenshots/make-screenshots.sh [BUILD_DIR]
# Needs MovieLens-100K: $MSR_MOVIELENS_DIR, or ../shared/data/movielens-100k.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
data="${MSR_MOVIELENS_DIR:-$root/../shared/data/movielens-100k}"
import=/usr/bin/import   # ImageMagick's own, not a stand-in earlier on PATH

tmp="$(mktemp -d)"
trap 'kill $xvfb_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
sleep 1

export DISPLAY="$display" GSK_RENDERER=cairo GDK_BACKEND=x11 GTK_A11Y=none \
       GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR="$build/resources" \
       XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" NO_AT_BRIDGE=1

# The window has no window manager here: it opens at its default size,
# which the schema sets to fit 1280x800.
"$build/app/msrlens" --demo --movielens "$data" &
app_pid=$!
sleep 6
# Crop to the window (its default size in the GSettings schema).
"$import" -window root "$here/summary.png"
kill "$app_pid"
echo "wrote $here/summary.png"
