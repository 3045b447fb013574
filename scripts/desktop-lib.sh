# Shared by scripts/desktop-test and scripts/desktop-bench (sourced, not run).
#
# Everything the desktop app does on the network stays inside a network namespace
# these scripts make (only `lo` up), so its mDNS never reaches a real interface.
# The X server (Xvfb) runs inside it too. On exit `desktop_cleanup` ends every
# process the script started, by PID, then scripts/lib/netns.sh ends whatever is
# left in the namespace and deletes it.

DESKTOP_ROOT=${DESKTOP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# shellcheck source=lib/netns.sh
source "$DESKTOP_ROOT/scripts/lib/netns.sh"
# Debian packages: building the app, running it under Xvfb, driving it.
DESKTOP_BUILD_PACKAGES=(build-essential pkg-config libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev
  libsoup-3.0-dev libgtk-3-dev librsvg2-dev libdbus-1-dev)
# The GStreamer plugins are WebKitGTK's WebCodecs VP8 and Opus: the window's calls.
DESKTOP_TEST_PACKAGES=(xvfb xauth imagemagick webkit2gtk-driver python3-xlib dbus-daemon iproute2 curl
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good chromium)
# tauri-driver from crates.io, cached so CI does not rebuild it every run.
TAURI_DRIVER_VERSION=2.1.0
TAURI_DRIVER_ROOT=${TAURI_DRIVER_ROOT:-$HOME/.cache/lanmeet/tauri-driver-$TAURI_DRIVER_VERSION}

DESKTOP_PIDS=()
DESKTOP_NS=
DESKTOP_TMP=

desktop_log() { echo "desktop: $*" >&2; }

# Installs the Debian packages in "$@" that are not installed yet.
desktop_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && [ -t 0 ]; then
      sudo=sudo
    else
      desktop_log "missing packages: ${missing[*]} (install them: sudo apt-get install ${missing[*]})"
      return 1
    fi
  fi
  command -v apt-get >/dev/null || { desktop_log "missing packages: ${missing[*]} (not a Debian-like system: install them by hand)"; return 1; }
  desktop_log "installing ${missing[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}

# Path of tauri-driver, installed with cargo into the cache when missing.
desktop_tauri_driver() {
  local bin=$TAURI_DRIVER_ROOT/bin/tauri-driver
  if [ ! -x "$bin" ]; then
    desktop_log "installing tauri-driver $TAURI_DRIVER_VERSION into $TAURI_DRIVER_ROOT"
    CARGO_TARGET_DIR=${TMPDIR:-/tmp}/lanmeet-tauri-driver-build \
      cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked --root "$TAURI_DRIVER_ROOT" >&2
  fi
  echo "$bin"
}

# Makes the namespace (only lo up, no IPv6; scripts/lib/netns.sh) and a scratch
# directory; sets the traps that clean both up on exit.
desktop_setup() {
  local name=$1
  DESKTOP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lanmeet-$name.XXXXXX")
  NETNS_EXIT_HOOKS+=(desktop_cleanup)
  netns_traps
  netns_new DESKTOP_NS "$name"
  mkdir -p "$DESKTOP_TMP/home/run" "$DESKTOP_TMP/bin"
  chmod 700 "$DESKTOP_TMP/home/run"
}

# Ends every process the script started, by PID, and removes the scratch
# directory. Runs on exit, before the namespace (and whatever is left in it) goes.
desktop_cleanup() {
  local pid i pids
  for pid in "${DESKTOP_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for i in $(seq 1 20); do
    pids=
    for pid in "${DESKTOP_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && pids="$pids $pid"; done
    [ -z "$pids" ] && break
    sleep 0.1
  done
  for pid in "${DESKTOP_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ -n "$DESKTOP_TMP" ] && [ -z "${DESKTOP_KEEP_TMP:-}" ]; then rm -rf "$DESKTOP_TMP"; fi
}

# Runs a command inside the namespace.
in_ns() { ip netns exec "$DESKTOP_NS" "$@"; }

# Starts Xvfb inside the namespace on a free display; sets DISPLAY.
desktop_xvfb() {
  local n
  for n in $(seq 90 140); do
    [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || break
  done
  ip netns exec "$DESKTOP_NS" Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$DESKTOP_TMP/xvfb.log" 2>&1 &
  DESKTOP_PIDS+=($!)
  local i
  export DISPLAY=":$n"
  for i in $(seq 1 100); do
    in_ns env DISPLAY="$DISPLAY" "$DESKTOP_ROOT/scripts/desktop-x11" windows none >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  desktop_log "Xvfb did not start"
  cat "$DESKTOP_TMP/xvfb.log" >&2
  return 1
}

# A stand-in for the system browser: records every URL it is given.
desktop_fake_browser() {
  cat >"$DESKTOP_TMP/bin/xdg-open" <<EOF
#!/bin/sh
echo "\$1" >> "$DESKTOP_TMP/browser-urls"
EOF
  chmod +x "$DESKTOP_TMP/bin/xdg-open"
  : >"$DESKTOP_TMP/browser-urls"
}

# The environment the app runs with: a fresh home, the fake browser first in PATH.
desktop_app_env() {
  echo env HOME="$DESKTOP_TMP/home" XDG_CONFIG_HOME="$DESKTOP_TMP/home/.config" \
    XDG_DATA_HOME="$DESKTOP_TMP/home/.local/share" XDG_CACHE_HOME="$DESKTOP_TMP/home/.cache" \
    XDG_RUNTIME_DIR="$DESKTOP_TMP/home/run" DISPLAY="$DISPLAY" \
    PATH="$DESKTOP_TMP/bin:$PATH" BROWSER="$DESKTOP_TMP/bin/xdg-open" \
    NO_AT_BRIDGE=1 ${LANMEET_BENCH_MEDIA_ENV:-LANMEET_MOCK_MEDIA=1}
}

# Waits (bounded) until PID has exited; returns 0 if it did.
desktop_wait_exit() {
  local pid=$1 tries=${2:-200} i
  for i in $(seq 1 "$tries"); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# Listening TCP ports inside the namespace, one per line.
desktop_listening() { in_ns ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort -u; }

# PIDs of PID and all its descendants.
desktop_tree() {
  local pid=$1 child
  echo "$pid"
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do desktop_tree "$child"; done
}

# Closes the window named lanmeet the way one click on its close button does: ONE
# WM_DELETE_WINDOW, sent as a window manager sends it, never repeated (a person
# clicks once; a request the app did not act on is a bug to see, not to retry).
# Then waits for PID to exit, up to a generous 60 s: the app first leaves the page
# (up to 1.5 s when the web process is busy, e.g. starting the camera), then stops
# its node and WebKit, which on a loaded machine takes seconds. The time the
# request was sent goes to stderr; CLOSE_EXIT_S is set to the seconds from it to
# the exit (for the log, not a limit). Returns 1 if it could not be sent or PID
# is still running.
desktop_close() {
  local pid=$1 start
  CLOSE_EXIT_S=
  in_ns env DISPLAY="$DISPLAY" "$DESKTOP_ROOT/scripts/desktop-x11" close lanmeet || return 1
  start=$EPOCHREALTIME
  desktop_wait_exit "$pid" 600 || return 1
  CLOSE_EXIT_S=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}
