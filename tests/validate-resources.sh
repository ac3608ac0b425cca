#!/bin/sh
# validate-resources.sh SOURCE_ROOT BUILD_ROOT
#
# TAP test of the desktop integration files in resources/: the desktop
# file, AppStream metainfo, GSettings schema, shortcuts window and icons,
# each checked with its reference validator, plus the ids that must agree
# across them. A validator that is not installed skips its check, except
# under CI (CI set and non-empty), where a missing validator fails.

src=${1:?usage: validate-resources.sh SOURCE_ROOT BUILD_ROOT}
build=${2:?usage: validate-resources.sh SOURCE_ROOT BUILD_ROOT}
res="$src/resources"
app_id=io.github.msrlens.MsrLens

n=0
failed=0

echo "1..9"

ok () { n=$((n + 1)); echo "ok $n - $1"; }

not_ok () {
  n=$((n + 1))
  echo "not ok $n - $1"
  failed=1
  if [ -n "$2" ]; then
    printf '%s\n' "$2" | sed 's/^/#   /'
  fi
}

missing_tool () {
  if [ -n "$CI" ]; then
    not_ok "$1" "$2 is not installed (required under CI)"
  else
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2 is not installed"
  fi
}

# run DESCRIPTION TOOL ARGS...: passes when TOOL exits 0.
run () {
  desc=$1
  tool=$2
  shift 2
  if ! command -v "$tool" >/dev/null 2>&1; then
    missing_tool "$desc" "$tool"
    return
  fi
  if out=$("$tool" "$@" 2>&1); then
    ok "$desc"
  else
    not_ok "$desc" "$out"
  fi
}

# 1-3: the reference validators.
run "desktop file passes desktop-file-validate" \
  desktop-file-validate "$res/$app_id.desktop"
run "metainfo passes appstreamcli validate --no-net" \
  appstreamcli validate --no-net "$res/$app_id.metainfo.xml"
run "schema compiles with glib-compile-schemas --strict" \
  glib-compile-schemas --strict --dry-run "$res"

# 4: the build compiled the schema where the tests look for it.
if [ -s "$build/resources/gschemas.compiled" ]; then
  ok "gschemas.compiled is in the build tree"
else
  not_ok "gschemas.compiled is in the build tree" "missing: $build/resources/gschemas.compiled"
fi

# 5: the shortcuts window is plain GTK, so gtk4-builder-tool can check it
# (the other templates use libadwaita types; test-ui builds those). The
# tool needs a display: use the one given, else a private Xvfb.
desc="gtk/help-overlay.ui passes gtk4-builder-tool validate"
if ! command -v gtk4-builder-tool >/dev/null 2>&1; then
  missing_tool "$desc" gtk4-builder-tool
elif [ -n "$DISPLAY" ] || [ -n "$WAYLAND_DISPLAY" ]; then
  run "$desc" env GTK_A11Y=none gtk4-builder-tool validate "$res/gtk/help-overlay.ui"
elif command -v xvfb-run >/dev/null 2>&1; then
  run "$desc" xvfb-run -a env GTK_A11Y=none gtk4-builder-tool validate "$res/gtk/help-overlay.ui"
else
  missing_tool "$desc" "a display or xvfb-run"
fi

# 6: the icons are well-formed SVG.
desc="icons are well-formed SVG"
if command -v xmllint >/dev/null 2>&1; then
  if out=$(xmllint --noout "$res/icons/scalable/apps/$app_id.svg" \
             "$res/icons/symbolic/apps/$app_id-symbolic.svg" 2>&1); then
    ok "$desc"
  else
    not_ok "$desc" "$out"
  fi
else
  missing_tool "$desc" xmllint
fi

# 7-9: the ids that tie the files together (plain grep, no tool needed).
problems=""
grep -qx "Icon=$app_id" "$res/$app_id.desktop" ||
  problems="$problems
$app_id.desktop: Icon is not $app_id"
grep -q "^Exec=msrlens\b" "$res/$app_id.desktop" ||
  problems="$problems
$app_id.desktop: Exec does not run msrlens"
[ -f "$res/icons/scalable/apps/$app_id.svg" ] ||
  problems="$problems
icons/scalable/apps/$app_id.svg: missing"
[ -f "$res/icons/symbolic/apps/$app_id-symbolic.svg" ] ||
  problems="$problems
icons/symbolic/apps/$app_id-symbolic.svg: missing"
if [ -z "$problems" ]; then ok "desktop file names the app's icon and binary"; else not_ok "desktop file names the app's icon and binary" "$problems"; fi

problems=""
grep -q "<id>$app_id</id>" "$res/$app_id.metainfo.xml" ||
  problems="$problems
$app_id.metainfo.xml: <id> is not $app_id"
grep -q "<launchable type=\"desktop-id\">$app_id.desktop</launchable>" "$res/$app_id.metainfo.xml" ||
  problems="$problems
$app_id.metainfo.xml: launchable is not $app_id.desktop"
grep -q "<project_license>GPL-3.0-or-later</project_license>" "$res/$app_id.metainfo.xml" ||
  problems="$problems
$app_id.metainfo.xml: project_license is not GPL-3.0-or-later"
if [ -z "$problems" ]; then ok "metainfo id, launchable and licence match the app"; else not_ok "metainfo id, launchable and licence match the app" "$problems"; fi

problems=""
grep -q "<schema id=\"$app_id\" path=\"/io/github/msrlens/MsrLens/\">" "$res/$app_id.gschema.xml" ||
  problems="$problems
$app_id.gschema.xml: schema id/path is not $app_id"
for key in window-width window-height window-maximized; do
  grep -q "<key name=\"$key\"" "$res/$app_id.gschema.xml" ||
    problems="$problems
$app_id.gschema.xml: key $key is missing"
done
if [ -z "$problems" ]; then ok "schema id and window-state keys match the app"; else not_ok "schema id and window-state keys match the app" "$problems"; fi

exit $failed
