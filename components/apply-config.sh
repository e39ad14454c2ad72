#!/usr/bin/env bash
# Delivers nats.conf and auth.conf (and in a cluster cluster.conf) to the Docker host and makes
# the running nats container load them WITHOUT a restart (clients of unchanged users stay
# connected). Run by the NatsCluster component's command resources (one per server) on the
# Docker host.
#
# usage: apply-config.sh [apply]   stage, validate, install, reload
#        apply-config.sh delete    remove the generated files (never the data volume)
#        apply-config.sh from-stdin [apply|delete]
#                                  the same, with every variable below read from stdin instead
#                                  of the environment (a node on another Docker host: the
#                                  command runs over SSH, where sshd drops environment requests
#                                  unless AcceptEnv allows them). stdin is then framed as below,
#                                  the variables being entries named like them, before the files:
#                                  `#nats-infra-files v1 NATS_CONF <bytes> CONFIG_DIR <bytes> ...
#                                  auth.conf <bytes> cluster.conf <bytes>`. Variables of these
#                                  names in the environment are ignored.
#
# Input is environment and stdin only, so no secret ever appears on a command line:
#   NATS_CONF        full nats.conf (it has `include "auth.conf"`, relative, and in a cluster
#                    `include "cluster.conf"`)
#   AUTH_CONF        full auth.conf: bcrypt hashes, treated as a secret and never printed; when
#                    unset it is read from stdin (what the component does)
#   stdin            auth.conf as is (a single server), or framed with cluster.conf (a cluster
#                    node; it holds the route password): a first line
#                    `#nats-infra-files v1 auth.conf <bytes> cluster.conf <bytes>`, then the files'
#                    bytes back to back (components/configCommand.ts secretFilesStdin)
#   CONFIG_DIR       absolute host directory, bind-mounted read-only into the container at
#   CONTAINER_CONFIG_DIR  (config/container.ts CONTAINER.configDir, e.g. /etc/nats)
#   NATS_CONTAINER   name of the nats container
#   NATS_IMAGE       image that container runs (validates the config when it does not run)
#   MONITOR_URL      http://127.0.0.1:<published monitor port>
#   RESTART_KEY      hash of the settings that need a restart; the running container carries
#                    the key it was created with as label RESTART_KEY_LABEL. In a cluster it
#                    hashes the container spec only, and:
#   SETTINGS_KEY     cluster nodes only: hash of the node's restart-class settings. The key its
#                    server was started with is in CONFIG_DIR/SETTINGS_KEY_FILE; when they differ
#                    the files are installed without a reload (the rollout command restarts the
#                    node). Written here when no server runs these files yet (no container, or one
#                    about to be replaced), so the new one is known to run them.
#   VALIDATE_MOUNTS  optional, whitespace-separated `host:container:ro` specs (TLS files) mounted
#                    into the throwaway validation container; a bare `-v` token is ignored
#   RELOAD_TIMEOUT   optional, seconds to wait for the reload to show in /varz (default 15)
set -euo pipefail
# auth.conf and its staging copy are readable by root only; the container runs as root.
umask 077
# Byte semantics for ${#var} and ${var:offset:length}: the stdin frame counts bytes.
LC_ALL=C
FRAME_MARKER="#nats-infra-files v1"

say() { echo "apply-config: $*"; }
die() {
  echo "apply-config: $*" >&2
  exit 1
}
require() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || die "$name is not set; the NatsCluster component passes it $(if $from_stdin; then echo "on stdin"; else echo "in the command's environment"; fi)"
  done
}

# The variables a framed stdin may set in from-stdin mode: the ones documented above, and the
# JetStream layout the cluster check below reads (JETSTREAM_DIR, JETSTREAM_META_DIR).
STDIN_VARIABLES="NATS_CONF CONFIG_DIR NATS_CONTAINER NATS_IMAGE MONITOR_URL RESTART_KEY RESTART_KEY_LABEL CONTAINER_CONFIG_DIR SETTINGS_KEY SETTINGS_KEY_FILE JETSTREAM_DIR JETSTREAM_META_DIR VALIDATE_MOUNTS RELOAD_TIMEOUT"

# Splits a framed text (first line: the marker, then `<name> <bytes>` per entry; the entries'
# bytes follow back to back) into auth_conf, cluster_conf (delivers_cluster=true) and, when
# $2 is true, the STDIN_VARIABLES it names. Sets globals; refuses a frame that does not add up.
split_frame() {
  local text="$1" variables_allowed="$2" header body offset=0 i name size content
  local -a frame
  header="${text%%$'\n'*}"
  body="${text#*$'\n'}"
  read -r -a frame <<<"${header#"$FRAME_MARKER "}"
  for ((i = 0; i < ${#frame[@]}; i += 2)); do
    name="${frame[i]}"
    size="${frame[i + 1]:-}"
    case "$size" in '' | *[!0-9]*) die "stdin's first line names $name without a byte count" ;; esac
    content="${body:offset:size}"
    [ "${#content}" -eq "$size" ] || die "stdin is shorter than its first line says ($name: $size bytes)"
    case "$name" in
      auth.conf) auth_conf="$content" ;;
      cluster.conf) cluster_conf="$content" && delivers_cluster=true ;;
      *)
        if $variables_allowed && [[ " $STDIN_VARIABLES " == *" $name "* ]]; then
          printf -v "$name" '%s' "$content"
        elif $variables_allowed; then
          die "stdin's first line names $name; only auth.conf, cluster.conf and the variables $STDIN_VARIABLES are read from stdin"
        else
          die "stdin's first line names $name; only auth.conf and cluster.conf are delivered on stdin"
        fi
        ;;
    esac
    offset=$((offset + size))
  done
  [ "$offset" -eq "${#body}" ] || die "stdin is longer than its first line says"
}
is_framed() { [ "${1#"$FRAME_MARKER "}" != "$1" ]; }

auth_conf=""
cluster_conf=""
delivers_cluster=false
from_stdin=false
if [ "${1:-}" = from-stdin ]; then
  from_stdin=true
  shift
  # Only stdin counts: nothing the remote login's environment happens to hold.
  # shellcheck disable=SC2086
  unset $STDIN_VARIABLES AUTH_CONF
  # (The trailing x keeps the final newline, which $(...) would strip.)
  stdin_text=$(cat && printf x) && stdin_text="${stdin_text%x}"
  is_framed "${stdin_text%%$'\n'*}" || die "from-stdin: stdin must start with a '$FRAME_MARKER' line naming the variables and files that follow"
  split_frame "$stdin_text" true
  unset stdin_text
fi

mode="${1:-apply}"
require CONFIG_DIR
case "$CONFIG_DIR" in
  /) die "CONFIG_DIR is /, refusing to write or delete there" ;;
  /*) ;;
  *) die "CONFIG_DIR must be an absolute path (Docker bind mounts need one), got: $CONFIG_DIR" ;;
esac
CONFIG_DIR="${CONFIG_DIR%/}"
next="$CONFIG_DIR/.next"

if [ "$mode" = delete ]; then
  rm -rf "$next"
  rm -f "$CONFIG_DIR/nats.conf" "$CONFIG_DIR/auth.conf" "$CONFIG_DIR/cluster.conf"
  [ -z "${SETTINGS_KEY_FILE:-}" ] || rm -f "$CONFIG_DIR/$SETTINGS_KEY_FILE"
  rmdir "$CONFIG_DIR" 2>/dev/null || true # only when nothing else lives there
  say "removed the config files from $CONFIG_DIR (the data volume is kept)"
  exit 0
fi
[ "$mode" = apply ] || die "unknown mode '$mode'; use 'apply' (default) or 'delete'"

require NATS_CONF NATS_CONTAINER NATS_IMAGE MONITOR_URL RESTART_KEY RESTART_KEY_LABEL CONTAINER_CONFIG_DIR
# Keep the contents in shell variables only: no child process (docker, curl) inherits them.
nats_conf="$NATS_CONF"
# The component sends auth.conf on stdin, a secret input of its own, so that the environment
# (the permissions summary) stays readable in `pulumi preview`. AUTH_CONF is accepted too.
# (The trailing x keeps the file's final newline, which $(...) would strip.) In from-stdin mode
# the frame was split above.
if ! $from_stdin; then
  if [ -n "${AUTH_CONF:-}" ]; then auth_conf="$AUTH_CONF"; else auth_conf=$(cat && printf x) && auth_conf="${auth_conf%x}"; fi
  # A framed stdin: split it by the byte counts of its first line.
  if is_framed "${auth_conf%%$'\n'*}"; then
    framed="$auth_conf"
    auth_conf=""
    split_frame "$framed" false
    unset framed
  fi
fi
unset NATS_CONF AUTH_CONF
if $delivers_cluster; then [ -n "$cluster_conf" ] || die "cluster.conf on stdin is empty"; fi
[ -n "$auth_conf" ] || die "auth.conf is empty: pass it on stdin (or in AUTH_CONF)"
# The staged set must hang together: nats.conf includes cluster.conf exactly when it is delivered
# (nats-server -t below checks that every included file parses).
includes() { grep -qxF "include \"$1\"" <<<"$nats_conf"; }
if $delivers_cluster && ! includes cluster.conf; then die "stdin carries cluster.conf, but nats.conf does not include it"; fi
if ! $delivers_cluster && includes cluster.conf; then die "nats.conf includes cluster.conf, but stdin does not carry it"; fi
command -v docker >/dev/null || die "docker is not installed on this host"

# --- Stage. printf is a shell builtin, so the contents never reach an argv.
rm -rf "$next"
trap 'rm -rf "$next"' EXIT
mkdir -p "$next" || die "cannot create $next: $(id -un) needs write access to $(dirname "$CONFIG_DIR") (on another Docker host: create it for the SSH user, or point docker.configDir at a directory it owns)"
printf '%s' "$nats_conf" >"$next/nats.conf"
printf '%s' "$auth_conf" >"$next/auth.conf"
chmod 644 "$next/nats.conf"
chmod 600 "$next/auth.conf"
if $delivers_cluster; then
  printf '%s' "$cluster_conf" >"$next/cluster.conf"
  chmod 600 "$next/cluster.conf"
fi

# --- Which server will load these files: the running one (reload) or a new one (restart).
state=$(docker inspect -f "{{.State.Running}} {{index .Config.Labels \"$RESTART_KEY_LABEL\"}}" "$NATS_CONTAINER" 2>/dev/null || echo "absent")
running="${state%% *}"
running_key="${state#* }"
# A cluster node's server may run other restart-class settings than these files: then only a
# restart (the rollout command) applies them; a reload would be refused.
settings_record=""
running_settings=""
if [ -n "${SETTINGS_KEY:-}" ]; then
  require SETTINGS_KEY_FILE
  settings_record="$CONFIG_DIR/$SETTINGS_KEY_FILE"
  running_settings=$(cat "$settings_record" 2>/dev/null || true)
fi
# --- A single server's streams must not become a cluster node's: the cluster's meta group does
# not know them and deletes them as orphans about 30 s after start (nats-server #5467). The
# running server is that single server when it has streams but no meta group.
if [ "$running" = true ] && [ -n "${JETSTREAM_META_DIR:-}" ]; then
  standalone=$(docker exec "$NATS_CONTAINER" sh -c 'test -d "$1" && exit 0; for d in "$2"/*/streams/*; do [ -e "$d" ] && echo "${d#"$2"/}"; done; exit 0' _ "$JETSTREAM_META_DIR" "$JETSTREAM_DIR" 2>/dev/null || true)
  if [ -n "$standalone" ]; then
    die "$NATS_CONTAINER runs a single server holding JetStream streams ($(echo "$standalone" | sed 's#/streams/# > #' | tr '\n' ' ' | sed 's/ $//')). As a cluster node it would delete them ~30 s after start (nats-server #5467), so nothing was changed. Keep them: back them up (npx nats-infra backup DIR), remove the streams, deploy the cluster, then restore (npx nats-infra restore DIR --force); see docs/cluster.md, Growing a single server."
  fi
fi

reload=false
settings_pending=false
if [ "$running" = true ] && [ "$running_key" = "$RESTART_KEY" ]; then
  if [ -z "${SETTINGS_KEY:-}" ] || [ "$running_settings" = "$SETTINGS_KEY" ]; then reload=true; else settings_pending=true; fi
fi

# --- Validate with the nats-server that will load the files. When the container will be
# replaced (another key, maybe another image), the running server is the wrong judge.
if $reload; then
  validation=$(docker exec "$NATS_CONTAINER" nats-server -t -c "$CONTAINER_CONFIG_DIR/.next/nats.conf" 2>&1) && valid=true || valid=false
else
  mounts=()
  for spec in ${VALIDATE_MOUNTS:-}; do
    [ "$spec" = -v ] || mounts+=(-v "$spec")
  done
  validation=$(docker run --rm --network none --entrypoint nats-server \
    -v "$next:$CONTAINER_CONFIG_DIR:ro" ${mounts[@]+"${mounts[@]}"} \
    "$NATS_IMAGE" -t -c "$CONTAINER_CONFIG_DIR/nats.conf" 2>&1) && valid=true || valid=false
fi
if ! $valid; then
  echo "apply-config: nats-server ($NATS_IMAGE) rejected the new config; the live files are unchanged:" >&2
  echo "$validation" >&2
  exit 1
fi

# --- Install. A rename inside the bind-mounted directory is visible in the container (a file
# bind mount would pin the old inode). nats.conf last: it is what includes the others.
mv -f "$next/auth.conf" "$CONFIG_DIR/auth.conf"
if $delivers_cluster; then mv -f "$next/cluster.conf" "$CONFIG_DIR/cluster.conf"; else rm -f "$CONFIG_DIR/cluster.conf"; fi
mv -f "$next/nats.conf" "$CONFIG_DIR/nats.conf"

# No server runs these files yet: the container is absent, or runs another spec and is about to
# be replaced. The one that starts next reads them, so it runs these settings.
if [ -n "$settings_record" ] && [ "$running_key" != "$RESTART_KEY" ]; then
  printf '%s\n' "$SETTINGS_KEY" >"$next/settings-key"
  mv -f "$next/settings-key" "$settings_record"
fi

if $settings_pending; then
  say "installed config in $CONFIG_DIR; $NATS_CONTAINER runs other restart-class settings (${running_settings:-unrecorded}, the config has $SETTINGS_KEY), so the rollout restarts it (no reload)"
  exit 0
fi
if [ "$running" != true ]; then
  say "installed config in $CONFIG_DIR; $NATS_CONTAINER is not running and reads it when it starts"
  exit 0
fi
if ! $reload; then
  say "installed config in $CONFIG_DIR; $NATS_CONTAINER runs with another restart key, so it will be replaced (no reload)"
  exit 0
fi

# --- Reload and confirm through /varz config_load_time.
if command -v curl >/dev/null; then
  fetch() { curl -fsS --max-time 2 "$1"; }
elif command -v wget >/dev/null; then
  fetch() { wget -q -T 2 -O - "$1"; }
else
  die "neither curl nor wget is installed on this host; install one so reloads can be confirmed (the new files are installed but not loaded)"
fi
load_time() {
  fetch "$MONITOR_URL/varz" 2>/dev/null | grep -o '"config_load_time": *"[^"]*"' | sed 's/.*: *"\(.*\)"/\1/'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

timeout_ms=$((${RELOAD_TIMEOUT:-15} * 1000))
start=$(now_ms)
before=""
while [ -z "$before" ]; do
  before=$(load_time || true)
  [ -n "$before" ] && break
  [ $(($(now_ms) - start)) -lt "$timeout_ms" ] || die "cannot read $MONITOR_URL/varz, so a reload could not be confirmed; the new files are installed but not loaded"
  sleep 0.2
done

since=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
start=$(now_ms)
docker kill -s HUP "$NATS_CONTAINER" >/dev/null
polls=0
while :; do
  after=$(load_time || true)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then
    say "$NATS_CONTAINER reloaded its config in $(($(now_ms) - start)) ms (config_load_time $before -> $after)"
    exit 0
  fi
  polls=$((polls + 1))
  # The server logs a refused reload at once; no need to wait out the timeout for it.
  failed=false
  if [ $((polls % 5)) -eq 0 ] && docker logs --since "$since" "$NATS_CONTAINER" 2>&1 | grep -q "Failed to reload"; then
    failed=true
  fi
  if $failed || [ $(($(now_ms) - start)) -ge "$timeout_ms" ]; then
    echo "apply-config: $NATS_CONTAINER did not reload (it keeps serving its previous config; the new files are installed). Last log lines:" >&2
    docker logs --tail 20 "$NATS_CONTAINER" 2>&1 | sed 's/^/  /' >&2
    exit 1
  fi
  sleep 0.1
done
