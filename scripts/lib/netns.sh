# Network namespaces for lanmeet's test scripts (sourced, not run). The Rust
# tests follow the same rules (lanmeet_test_support::netns):
#
# - names are unique per run (the script's PID and a counter), so parallel runs
#   and a stale one never share a namespace;
# - IPv6 is off on every link but loopback: its addresses finish
#   duplicate-address detection a second or two after a link comes up, and
#   Chromium treats that change as "network changed" and aborts page loads in
#   flight (ERR_NETWORK_CHANGED); lo's ::1 has no such delay and stays (some
#   programs, WebKitWebDriver among them, will not listen without it). The tests
#   use IPv4 on their links;
# - links have carrier before anything starts (netns_wait_carrier);
# - every namespace made here is deleted when the script exits, fails, or gets
#   INT/TERM/HUP (netns_traps), after ending whatever still runs inside it (all
#   of it started by this script).
#
#   source "$(dirname "$0")/lib/netns.sh"
#   netns_traps                        # once, before the first netns_new
#   netns_new ns demo                  # $ns: the new namespace's name
#   ...
#   netns_run ip netns exec "$ns" CMD  # CMD's status; INT/TERM reach cleanup
#
# Needs root and iproute2.

NETNS_MADE=()
NETNS_EXIT_HOOKS=()
_netns_count=0

# Makes a namespace with a fresh name (lm-TAG-PID-N; TAG: letters, digits, - or
# _), lo up, and IPv6 off for every link added to it later; stores its name in
# the variable VAR. Remembered for netns_cleanup.
netns_new() {
  # Locals are prefixed: VAR may be any name the caller uses, `ns` included.
  local _netns_var=$1 _netns_tag=$2 _netns_ns
  case "$_netns_tag" in
    *[!A-Za-z0-9_-]*|'') echo "netns: bad name '$_netns_tag' (letters, digits, - or _)" >&2; return 2 ;;
  esac
  _netns_count=$((_netns_count + 1))
  _netns_ns="lm-${_netns_tag:0:20}-$$-$_netns_count"
  ip netns add "$_netns_ns" || return 1
  NETNS_MADE+=("$_netns_ns")
  printf -v "$_netns_var" '%s' "$_netns_ns"
  # A kernel without IPv6 has nothing to turn off.
  if [ -e /proc/sys/net/ipv6 ]; then
    ip netns exec "$_netns_ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6' || return 1
  fi
  ip -n "$_netns_ns" link set lo up
}

# Waits (bounded: 10 s) until every DEV in NS is up with carrier.
netns_wait_carrier() {
  local ns=$1 dev i line
  shift
  for dev in "$@"; do
    for i in $(seq 1 500); do
      line=$(ip -n "$ns" -o link show dev "$dev" 2>/dev/null)
      case "$line" in *LOWER_UP*"state UP"*) continue 2 ;; esac
      sleep 0.02
    done
    echo "netns: no carrier on $dev in $ns after 10 s" >&2
    return 1
  done
}

# The address after ADDR in its /24 (wrapping within 1..254): lan1's, next to
# lan0's ADDR.
netns_next_addr() {
  local addr=$1
  echo "${addr%.*}.$(( (${addr##*.} % 254) + 1 ))"
}

# A LAN inside NS: the veth pair lan0/lan1 (both ends in NS, no packet leaves it),
# ADDR/24 on lan0 and the next address on lan1, mDNS routed out of lan0, carrier
# on both before it returns. Browsers ignore loopback ICE candidates: a browser
# call needs such an address.
netns_veth() {
  local ns=$1 addr=$2
  ip -n "$ns" link add lan0 type veth peer name lan1 || return 1
  ip -n "$ns" addr add "$addr/24" dev lan0
  ip -n "$ns" addr add "$(netns_next_addr "$addr")/24" dev lan1
  ip -n "$ns" link set lan0 up
  ip -n "$ns" link set lan1 up
  # mDNS inside the namespace goes out of lan0 (and stays in the namespace).
  ip -n "$ns" route add 224.0.0.0/4 dev lan0 2>/dev/null || true
  netns_wait_carrier "$ns" lan0 lan1
}

# Ends every process left in NS: TERM, then KILL for those that linger. Bounded.
netns_end_processes() {
  local ns=$1 i pids
  for i in $(seq 1 10); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] && return 0
    if [ "$i" -lt 6 ]; then kill -TERM $pids 2>/dev/null || true
    else kill -KILL $pids 2>/dev/null || true; fi
    sleep 0.2
  done
}

# Ends what runs in every namespace made here and deletes them, newest first.
netns_cleanup() {
  local i ns
  for ((i = ${#NETNS_MADE[@]} - 1; i >= 0; i--)); do
    ns=${NETNS_MADE[$i]}
    netns_end_processes "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
  NETNS_MADE=()
}

# Installs the traps: on exit the hooks in NETNS_EXIT_HOOKS run (in order), then
# netns_cleanup, and the script exits with its status; INT/TERM/HUP exit with
# 130/143/129 through the same path.
netns_traps() {
  trap _netns_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

_netns_on_exit() {
  local status=$? hook
  trap - EXIT INT TERM HUP
  for hook in "${NETNS_EXIT_HOOKS[@]}"; do "$hook" || true; done
  netns_cleanup
  exit "$status"
}

# Runs CMD in the background and waits for it, so INT/TERM/HUP reach the traps
# at once; returns CMD's status. The child is ended on the way out if it still
# runs (hook registered here).
NETNS_CHILD=
_netns_end_child() {
  if [ -n "$NETNS_CHILD" ] && kill -0 "$NETNS_CHILD" 2>/dev/null; then
    kill -TERM "$NETNS_CHILD" 2>/dev/null || true
  fi
}
netns_run() {
  local status
  NETNS_EXIT_HOOKS+=(_netns_end_child)
  "$@" &
  NETNS_CHILD=$!
  wait "$NETNS_CHILD"
  status=$?
  # `wait` returns early on a trapped signal; wait again for the real status.
  while kill -0 "$NETNS_CHILD" 2>/dev/null; do wait "$NETNS_CHILD"; status=$?; done
  return "$status"
}
