#!/usr/bin/env bash
# Test Docker engine for dockward's engine tests and benchmark.
#
#   engine.sh up DIR      start a private dockerd under DIR (or reuse the one named by
#                         DOCKWARD_TEST_DOCKER_HOST), import the test image, write DIR/env
#   engine.sh down DIR    stop the engine if `up` started it, clean up, remove DIR
#   engine.sh status DIR  say whether the engine recorded in DIR/env answers
#   engine.sh restart DIR stop and start again the engine `up` started (same socket, port, data)
#
# Only one dockerd may run per machine (they fight over docker0 and iptables), so `up`
# refuses to start a second one and points at the running one instead.
set -euo pipefail

IMAGE='dockward-test/busybox:latest'
PING_TIMEOUT=60
STOP_TIMEOUT=20
LOCK_FILE=/tmp/dw-engine.lock

log () { printf 'engine.sh: %s\n' "$*" >&2; }
die () { log "error: $*"; exit 1; }

usage () {
  echo "usage: $0 up|down|status|restart DIR" >&2
  exit 2
}

# DIR ends up verbatim in socket paths and in DIR/env, so keep it absolute and free of
# characters that would need shell quoting.
resolve_dir () {
  local d=$1
  case $d in /*) ;; *) d="$PWD/$d" ;; esac
  d=${d%/}
  [[ $d =~ ^[A-Za-z0-9._/+-]+$ ]] || die "DIR must contain only [A-Za-z0-9._/+-]: $d"
  [[ $d != / && $d != /tmp ]] || die "refusing to use $d as DIR"
  printf '%s' "$d"
}

docker_cli () {
  if [[ -x /usr/local/bin/docker ]]; then echo /usr/local/bin/docker
  elif command -v docker > /dev/null; then command -v docker
  else return 1
  fi
}

# ping HOST: true when the engine at unix:///path or tcp://host:port answers /_ping.
ping_engine () {
  local host=$1 out
  case $host in
    unix://*) out=$(curl -sS --max-time 3 --unix-socket "${host#unix://}" http://localhost/_ping 2> /dev/null) || return 1 ;;
    tcp://*) out=$(curl -sS --max-time 3 "http://${host#tcp://}/_ping" 2> /dev/null) || return 1 ;;
    *) return 1 ;;
  esac
  [[ $out == OK ]]
}

ensure_packages () {
  local missing=()
  command -v dockerd > /dev/null || missing+=(docker.io)
  # The image needs a static busybox: a dynamic one would not run inside an empty rootfs.
  if [[ ! -x /bin/busybox ]] || ldd /bin/busybox > /dev/null 2>&1; then missing+=(busybox-static); fi
  command -v curl > /dev/null || missing+=(curl)
  ((${#missing[@]})) || return 0
  if [[ $(id -u) != 0 ]]; then
    die "missing ${missing[*]}; run as root or install them: apt-get install -y ${missing[*]}"
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q "${missing[@]}" >&2
  command -v dockerd > /dev/null || die 'dockerd still missing after installing docker.io'
  [[ -x /bin/busybox ]] || die '/bin/busybox still missing after installing busybox-static'
}

free_port () {
  if command -v node > /dev/null; then
    node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
  elif command -v python3 > /dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
  else
    local p
    for _ in $(seq 100); do
      p=$((20000 + RANDOM % 40000))
      (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return 0; }
    done
    return 1
  fi
}

# PIDs of running dockerd processes (read-only lookup, used to refuse a second engine).
running_dockerds () {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2> /dev/null) || continue
    if [[ ${exe##*/} == dockerd ]]; then echo "${p#/proc/}"; fi
  done
}

cmdline_of () { tr '\0' ' ' < "/proc/$1/cmdline" 2> /dev/null || true; }

# True when PID is alive and is the dockerd that was started for DIR (guards against PID reuse).
is_our_dockerd () {
  local pid=$1 dir=$2 exe
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2> /dev/null) || return 1
  [[ ${exe##*/} == dockerd ]] || return 1
  [[ $(cmdline_of "$pid") == *"--data-root $dir/data"* ]]
}

# Processes belonging to our engine: dockerd (if given) plus any containerd or shim that
# names our exec-root (they survive a crashed dockerd, and shims double-fork away from the
# tree anyway), and every descendant of those (docker-proxy, container processes).
engine_pids () {
  local root=$1 dir=$2 p exe stat pid
  local -a f queue=() found=()
  local -A parent=()
  [[ -z $root ]] || queue+=("$root")
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    { read -r stat < "$p/stat"; } 2> /dev/null || continue
    # comm (field 2) may contain spaces, so split only what follows its closing paren.
    read -r -a f <<< "${stat##*) }"
    parent[$pid]=${f[1]}
    exe=$(readlink "$p/exe" 2> /dev/null) || continue
    if [[ ${exe##*/} == containerd* && $(cmdline_of "$pid") == *"$dir/exec/"* ]]; then
      queue+=("$pid")
    fi
  done
  while ((${#queue[@]})); do
    local cur=${queue[0]}
    queue=("${queue[@]:1}")
    found+=("$cur")
    for p in "${!parent[@]}"; do
      if [[ ${parent[$p]} == "$cur" ]]; then queue+=("$p"); fi
    done
  done
  if ((${#found[@]})); then printf '%s\n' "${found[@]}" | sort -un; fi
}

# A zombie counts as gone: it has exited, and reaping it is up to its (new) parent.
is_alive () {
  local stat
  { read -r stat < "/proc/$1/stat"; } 2> /dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

wait_gone () {
  local timeout=$1 p alive
  shift
  for _ in $(seq $((timeout * 10))); do
    alive=0
    for p in "$@"; do if is_alive "$p"; then alive=1; fi; done
    ((alive)) || return 0
    sleep 0.1
  done
  return 1
}

signal_alive () {
  local sig=$1 p
  shift
  for p in "$@"; do
    if is_alive "$p"; then kill "-$sig" "$p" 2> /dev/null || true; fi
  done
}

import_image () {
  local host=$1 work=$2 docker rootfs applet
  docker=$(docker_cli) || die 'no docker CLI found'
  if "$docker" -H "$host" image inspect "$IMAGE" > /dev/null 2>&1; then
    log "image $IMAGE already present"
    return 0
  fi
  rootfs=$(mktemp -d "$work/rootfs.XXXXXX")
  mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev}
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  # Every applet goes in /bin so the default PATH finds it whatever busybox thinks its home is.
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
  done
  for applet in sh cat echo sleep head dd sha256sum wc ls mkdir tr yes true false env id ps seq printf; do
    [[ -e $rootfs/bin/$applet ]] || die "busybox lacks applet $applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n' > "$rootfs/etc/group"
  log "importing $IMAGE"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf - . \
    | DOCKER_CONFIG="$work/.docker-cli" "$docker" -H "$host" import --change 'CMD ["/bin/sh"]' - "$IMAGE" > /dev/null
  rm -rf "$rootfs" "$work/.docker-cli"
}

write_env () {
  local dir=$1
  shift
  printf '%s\n' "$@" > "$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  printf '%s\n' "$@"
}

# SIGTERM to dockerd PID, SIGKILL when it has not gone after STOP_TIMEOUT; false if it stays.
stop_dockerd () {
  local pid=$1
  kill -TERM "$pid" 2> /dev/null || true
  wait_gone "$STOP_TIMEOUT" "$pid" && return 0
  log "dockerd $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
  kill -KILL "$pid" 2> /dev/null || true
  wait_gone 5 "$pid"
}

# Stop the dockerd started for DIR and everything it spawned. Safe to call repeatedly.
teardown () {
  local dir=$1 pid="" docker host="unix://$1/docker.sock" m f
  for f in "$dir/docker.pid" "$dir/dockerd.launch-pid"; do
    if [[ -f $f ]] && is_our_dockerd "$(cat "$f")" "$dir"; then pid=$(cat "$f"); break; fi
  done
  if [[ -n $pid ]] && ping_engine "$host" && docker=$(docker_cli); then
    local ids
    ids=$(DOCKER_CONFIG="$dir/.docker-cli" "$docker" -H "$host" ps -aq 2> /dev/null || true)
    # shellcheck disable=SC2086
    [[ -z $ids ]] || DOCKER_CONFIG="$dir/.docker-cli" "$docker" -H "$host" rm -f $ids > /dev/null 2>&1 || log 'warning: could not remove all containers'
  fi
  # Collect the tree before dockerd goes: once it exits its children are reparented.
  local -a procs=()
  mapfile -t procs < <(engine_pids "$pid" "$dir")
  if [[ -n $pid ]]; then
    log "stopping dockerd $pid (engine processes: ${procs[*]})"
    stop_dockerd "$pid" || log "warning: dockerd $pid still alive"
  elif ((${#procs[@]})); then
    log "dockerd is gone but left engine processes behind: ${procs[*]}"
  fi
  # dockerd normally stops containerd and the containers itself; only stragglers get signalled.
  if ((${#procs[@]})) && ! wait_gone 5 "${procs[@]}"; then
    signal_alive TERM "${procs[@]}"
    if ! wait_gone 5 "${procs[@]}"; then
      signal_alive KILL "${procs[@]}"
      wait_gone 5 "${procs[@]}" || log "warning: engine processes still alive: ${procs[*]}"
    fi
  fi
  # Deepest first so nested mounts (overlay, netns, shm) come off before their parents.
  while read -r m; do
    umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || log "warning: could not unmount $m"
  done < <(awk -v d="$dir/" 'index($2, d) == 1 { print length($2), $2 }' /proc/mounts | sort -rn | cut -d' ' -f2-)
  if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    die "mounts remain under $dir; not removing it"
  fi
  rm -rf --one-file-system "$dir"
}

# Start dockerd for DIR on its socket and PORT, and wait until it answers; exit 1 (with its last
# log lines) when it does not. Used by `up` and `restart`.
start_dockerd () {
  local dir=$1 port=$2 sock="$1/docker.sock"
  log "starting dockerd on unix://$sock and tcp://127.0.0.1:$port (log: $dir/dockerd.log)"
  # setsid + closed stdio: the engine must outlive this script and not hold the caller's pipes.
  # --tls=false: newer dockerd refuses (or delays startup by ~15 s) an unencrypted tcp
  # listener unless TLS is explicitly disabled; 20.10 accepts the flag and only warns.
  setsid dockerd \
    -H "unix://$sock" -H "tcp://127.0.0.1:$port" --tls=false \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    >> "$dir/dockerd.log" 2>&1 < /dev/null 9>&- &
  local pid=$!
  echo "$pid" > "$dir/dockerd.launch-pid"

  local start=$SECONDS ok=0
  while ((SECONDS - start < PING_TIMEOUT)); do
    if ping_engine "unix://$sock"; then ok=1; break; fi
    is_alive "$pid" || break
    sleep 0.2
  done
  if ((!ok)); then
    if is_alive "$pid"; then log "dockerd did not answer /_ping within ${PING_TIMEOUT}s"; else log 'dockerd exited during startup'; fi
    log "last lines of $dir/dockerd.log:"
    tail -n 30 "$dir/dockerd.log" >&2 || true
    exit 1
  fi
  log "dockerd $pid answers after $((SECONDS - start))s"
}

cmd_up () {
  local dir=$1
  mkdir -p "$dir"
  [[ ! -f $dir/env ]] || die "$dir/env exists; run '$0 down $dir' first"

  if [[ -n ${DOCKWARD_TEST_DOCKER_HOST:-} ]]; then
    local host=$DOCKWARD_TEST_DOCKER_HOST
    # An engine that was named but does not answer is most likely still starting or
    # already gone; starting our own could collide with it, so stop here.
    ping_engine "$host" || die "DOCKWARD_TEST_DOCKER_HOST=$host does not answer /_ping; unset it to start a private engine"
    command -v curl > /dev/null || die 'curl is required'
    import_image "$host" "$dir"
    local lines=("DOCKWARD_TEST_DOCKER_HOST=$host")
    [[ -z ${DOCKWARD_TEST_ENGINE_TCP:-} ]] || lines+=("DOCKWARD_TEST_ENGINE_TCP=$DOCKWARD_TEST_ENGINE_TCP")
    lines+=("DOCKWARD_TEST_IMAGE=$IMAGE" 'DOCKWARD_TEST_ENGINE_STARTED=0')
    write_env "$dir" "${lines[@]}"
    return 0
  fi

  local sock="$dir/docker.sock"
  ((${#sock} <= 100)) || die "socket path too long (${#sock} bytes, unix limit ~107): $sock; use mktemp -d /tmp/dw-engine.XXXXXX"
  ensure_packages

  # Serialise check-and-start so two concurrent `up`s cannot both decide no engine runs.
  exec 9> "$LOCK_FILE"
  flock -w 120 9 || die "timed out waiting for $LOCK_FILE"
  local others
  others=$(running_dockerds)
  if [[ -n $others ]]; then
    local p
    local p hint=unix:///path/to/its.sock
    for p in $others; do
      log "dockerd already running: pid $p: $(cmdline_of "$p")"
      [[ $(cmdline_of "$p") =~ -H[=\ ](unix://[^ ]+) ]] && hint=${BASH_REMATCH[1]}
    done
    die "only one dockerd may run per machine (they fight over docker0/iptables); reuse it with DOCKWARD_TEST_DOCKER_HOST=$hint"
  fi

  local port
  port=$(free_port) || die 'could not find a free loopback port'
  mkdir -p "$dir/data" "$dir/exec"
  # From here on a failure must not leave a half-started engine behind.
  trap 'rc=$?; if ((rc)); then log "up failed; cleaning up"; teardown "'"$dir"'" || true; fi' EXIT
  trap 'exit 1' INT TERM
  start_dockerd "$dir" "$port"
  flock -u 9
  exec 9>&-

  import_image "unix://$sock" "$dir"
  trap - EXIT INT TERM
  write_env "$dir" \
    "DOCKWARD_TEST_DOCKER_HOST=unix://$sock" \
    "DOCKWARD_TEST_ENGINE_TCP=tcp://127.0.0.1:$port" \
    "DOCKWARD_TEST_IMAGE=$IMAGE" \
    'DOCKWARD_TEST_ENGINE_STARTED=1'
}

env_value () {
  local key=$1 file=$2
  { sed -n "s/^$key=//p" "$file" 2> /dev/null || true; } | tail -n 1
}

cmd_down () {
  local dir=$1
  [[ -d $dir ]] || { log "$dir does not exist; nothing to do"; return 0; }
  local started
  started=$(env_value DOCKWARD_TEST_ENGINE_STARTED "$dir/env")
  if [[ $started == 0 ]]; then
    # A reused engine belongs to someone else: leave it and its containers alone.
    log 'engine was reused, not started here; leaving it running'
    rm -f "$dir/env"
    rmdir "$dir" 2> /dev/null || log "leaving non-empty $dir"
    return 0
  fi
  # Also handles a DIR whose `up` died before writing env, but never wipes a directory
  # that does not look like one of ours.
  if [[ ! -f $dir/env && ! -f $dir/dockerd.launch-pid && ! -f $dir/docker.pid ]] \
    && [[ -n $(ls -A "$dir") ]]; then
    die "$dir has no engine files; not removing it"
  fi
  teardown "$dir"
  log "engine under $dir stopped and removed"
}

# Stop the engine started for DIR and start it again on the same socket, port and data root
# (images stay; containers stop, as in any engine restart). Only an engine started here.
cmd_restart () {
  local dir=$1 pid="" f port
  [[ $(env_value DOCKWARD_TEST_ENGINE_STARTED "$dir/env") == 1 ]] || die "restart: the engine in $dir was not started by this script; refusing to restart it"
  for f in "$dir/docker.pid" "$dir/dockerd.launch-pid"; do
    if [[ -f $f ]] && is_our_dockerd "$(cat "$f")" "$dir"; then pid=$(cat "$f"); break; fi
  done
  [[ -n $pid ]] || die "restart: no dockerd of $dir is running"
  port=$(env_value DOCKWARD_TEST_ENGINE_TCP "$dir/env")
  port=${port##*:}
  log "restarting dockerd $pid"
  stop_dockerd "$pid" || die "dockerd $pid still alive"
  start_dockerd "$dir" "$port"
}

cmd_status () {
  local dir=$1 host
  host=$(env_value DOCKWARD_TEST_DOCKER_HOST "$dir/env")
  [[ -n $host ]] || { echo "no engine recorded in $dir/env"; return 1; }
  if ping_engine "$host"; then
    echo "up: $host (started here: $(env_value DOCKWARD_TEST_ENGINE_STARTED "$dir/env"))"
  else
    echo "down: $host does not answer /_ping"
    return 1
  fi
}

(($# == 2)) || usage
DIR=$(resolve_dir "$2")
case $1 in
  up) cmd_up "$DIR" ;;
  down) cmd_down "$DIR" ;;
  status) cmd_status "$DIR" ;;
  restart) cmd_restart "$DIR" ;;
  *) usage ;;
esac
