#!/usr/bin/env bash
# Makes the README's screenshots of every page from a real run under Xvfb
# at 1280x800: it builds the demo (MovieLens-100K, six backbones, the
# baseline and STAR with LLM4MSR) in a private data folder, then opens it
# once per page; then the simulated demo (what opens without MovieLens),
# scrolled to its planted truth, and its Scenario Correlations page.
# Usage: docs/screenshots/make-screenshots.sh [BUILD_DIR]
# Needs MovieLens-100K ($MSR_MOVIELENS_DIR, or ../shared/data/movielens-100k)
# and the LLM's knowledge of it ($MSR_KNOWLEDGE_DIR, or
# ../shared/data/llm-knowledge-ml100k).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
data="${MSR_MOVIELENS_DIR:-$root/../shared/data/movielens-100k}"
knowledge="${MSR_KNOWLEDGE_DIR:-$root/../shared/data/llm-knowledge-ml100k}"
import=/usr/bin/import   # ImageMagick's own, not a stand-in earlier on PATH
app="$build/app/msrlens"
cli="$build/app/msrlens-cli"

tmp="$(mktemp -d)"
app_pid=
cleanup () {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# -displayfd: the server picks a free display and reports it.
exec 3<> "$tmp/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do [ -s "$tmp/display" ] && break; sleep 0.1; done
display=":$(head -n1 "$tmp/display")"

export DISPLAY="$display" GSK_RENDERER=cairo GDK_BACKEND=x11 GTK_A11Y=none \
       GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR="$build/resources" \
       XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" NO_AT_BRIDGE=1 \
       OPENBLAS_NUM_THREADS=1
demo="$tmp/data/msrlens/demo"

# Xvfb starts the pointer mid-screen (and, without -noreset, puts it back
# there whenever its last client leaves), where it would hover a chart and
# cover it with a read-out: park it in the bottom-right corner (Xlib).
park_pointer () {
  python3 - <<'PY'
import ctypes
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XWarpPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong] + [ctypes.c_int] * 2 + [ctypes.c_uint] * 2 + [ctypes.c_int] * 2
x.XFlush.argtypes = [ctypes.c_void_p]
d = x.XOpenDisplay(None)
x.XWarpPointer(d, 0, x.XDefaultRootWindow(d), 0, 0, 0, 0, 1279, 799)
x.XFlush(d)
PY
}
park_pointer

eval_runs () {
  "$cli" runs "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(sum(r["kind"]=="eval" for r in json.load(sys.stdin)["runs"]))' 2>/dev/null ||
    echo 0
}

# First opening builds and trains the demo, with its progress on screen.
start=$SECONDS
"$app" --demo --movielens "$data" --knowledge "$knowledge" &
app_pid=$!
sleep 12
"$import" -window root "$here/loading.png"
for _ in $(seq 900); do
  [ "$(eval_runs "$demo")" -ge 8 ] && break
  sleep 1
done
echo "the MovieLens demo was built, with its knowledge, in about $((SECONDS - start)) s"
kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=

# No window manager here: the window opens at the schema's default size,
# which fits 1280x800.
for page in overview backbones seesaw correlations meta users runs train; do
  "$app" --demo --page "$page" &
  app_pid=$!
  # The explaining pages compute on opening (Mantel permutations, every
  # user's generated layer).
  case "$page" in correlations|meta|users) sleep 12 ;; *) sleep 5 ;; esac
  "$import" -window root "$here/$page.png"
  kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=
  echo "wrote $here/$page.png"
done

# The simulated world: no MovieLens copy anywhere, and a mirror that does
# not answer, so the demo falls back to it (and says why in its banner).
export XDG_DATA_HOME="$tmp/sim-data"
sim="$XDG_DATA_HOME/msrlens/demo-simulated"
start=$SECONDS
MSR_MOVIELENS_DIR= MSR_MOVIELENS_URL=file:///nonexistent/ml-100k.zip "$app" --demo --page planted-truth &
app_pid=$!
for _ in $(seq 900); do
  [ "$(eval_runs "$sim")" -ge 8 ] && break
  sleep 1
done
echo "the simulated demo was built in about $((SECONDS - start)) s"
sleep 4
"$import" -window root "$here/planted-truth.png"
kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=
echo "wrote $here/planted-truth.png"

# Its correlations: planted, the planted knowledge's, the data's, learned.
"$app" --demo --page correlations &
app_pid=$!
sleep 12
"$import" -window root "$here/sim-correlations.png"
kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=
echo "wrote $here/sim-correlations.png"
