#!/usr/bin/env bash
# Builds local stand-ins for the pinned images (config/versions.json), because no registry is
# reachable from test machines.
#
#   build-test-image.sh [nats]    the nats image (natsServer.image)
#   build-test-image.sh surveyor  the NATS Surveyor image (surveyor.image)
#   build-test-image.sh nats-box  the nats-box image (natscli.image): natscli at /usr/local/bin/nats
#                                 and a shell; the component runs it with `sleep infinity`
#   build-test-image.sh prometheus   Prometheus (PROMETHEUS_IMAGE in config/monitoring.ts) from Debian's
#                                 /usr/bin/prometheus (`bash tools/install-prometheus.sh`)
#   build-test-image.sh grafana   a stand-in that is NOT Grafana, for the GRAFANA_IMAGE slot (below)
#
# nats: the layout copies what our code relies on in nats:<v>-alpine: nats-server at
# /usr/local/bin/nats-server, a shell and wget (busybox) for the healthcheck, an entrypoint that
# runs `nats-server` when given only flags, and /etc/nats and /data as the config and data
# directories. So `docker exec <c> nats-server -t ...` and the healthcheck are the same lines in
# tests and in production.
#
# surveyor: the layout of natsio/nats-surveyor as its release builds it (nats-io/nats-surveyor
# docker-bake.hcl target "nats-surveyor" -> cicd/Dockerfile, checked at commit 725f52d): alpine
# with the binary at /usr/local/bin/nats-surveyor, a link /nats-surveyor to it, ENV
# GO_APP=nats-surveyor and ENTRYPOINT ["/entrypoint.sh"], a script that runs
# `exec "/${GO_APP}" "$@"`; no CMD (an ENTRYPOINT resets the base image's), so a container with no
# command runs Surveyor configured by its NATS_SURVEYOR_* environment. The binary is
# .tools/bin/nats-surveyor (see its .source file: `go install`, or the prebuilt fallback of
# tools/install-tools.sh); the image's label nats-infra.test-image.binary-source repeats that.
#
# prometheus: the layout of prom/prometheus (its Dockerfile): the binary at /bin/prometheus as the
# ENTRYPOINT, /prometheus as working and data directory owned by nobody, USER nobody (65534), so a
# fresh named volume on /prometheus is writable to it as in production. Debian's binary is linked
# against glibc (ldd: libc.so.6 and the loader only): both are copied beside it, and Debian's web
# assets (/usr/share/prometheus/web, where its build reads them). The tag carries the version the
# binary reports.
#
# grafana: no Grafana binary is available here (no registry, no Debian package), so this image only
# stands in for the container the component declares: user 472 and /var/lib/grafana owned by it as
# in grafana/grafana, ENTRYPOINT /run.sh, port 3000. Its /run.sh checks what Grafana would need from
# the container (GF_SECURITY_ADMIN_PASSWORD__FILE names a readable, non-empty file; the data
# directory is writable), writes /api/health (`"database": "ok"` only when those hold) and
# /provisioning.txt (every file under /etc/grafana with its size and sha256, and the password file
# by its length only), then serves them with busybox httpd. It shows that the files reach the places
# Grafana reads; it does not show that Grafana accepts them or renders a panel.
#
# Uses `docker import` of a root filesystem (no builder needed, works with any engine version).
# The image carries a label with a hash of its inputs; when an image with that tag and hash
# exists the build is skipped. Prints the image tag as the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."

kind="${1:-nats}"
busybox_bin="${BUSYBOX:-/bin/busybox}"
case "$kind" in
  nats)
    app_bin=".tools/bin/nats-server"
    version=$(node -p 'require("./config/versions.json").natsServer.version.replace(/^v/, "")')
    tag="${NATS_TEST_IMAGE:-nats-infra-test/nats:$version}"
    ;;
  surveyor)
    app_bin=".tools/bin/nats-surveyor"
    # Not tagged with the pinned version: the binary may be a prebuilt of another version.
    tag="${SURVEYOR_TEST_IMAGE:-nats-infra-test/nats-surveyor:local}"
    ;;
  nats-box)
    app_bin=".tools/bin/nats"
    version=$(node -p 'require("./config/versions.json").natscli.version.replace(/^v/, "")')
    tag="${NATS_BOX_TEST_IMAGE:-nats-infra-test/nats-box:$version}"
    ;;
  prometheus)
    app_bin="${PROMETHEUS_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}"
    [ -x "$app_bin" ] || { echo "build-test-image: prometheus is missing; run \`bash tools/install-prometheus.sh\`" >&2; exit 1; }
    version=$("$app_bin" --version 2>&1 | sed -n '1s/^prometheus, version \([0-9][0-9.]*\).*/\1/p')
    [ -n "$version" ] || { echo "build-test-image: $app_bin --version reports no version" >&2; exit 1; }
    tag="${PROMETHEUS_TEST_IMAGE:-nats-infra-test/prometheus:v$version}"
    ;;
  grafana)
    app_bin="$busybox_bin"
    version=$(sed -n 's/^export const GRAFANA_IMAGE = "[^:]*:\([^"]*\)";$/\1/p' config/monitoring.ts)
    tag="${GRAFANA_TEST_IMAGE:-nats-infra-test/grafana-stand-in:$version}"
    ;;
  *)
    echo "build-test-image: unknown image '$kind' (nats, surveyor, nats-box, prometheus or grafana)" >&2
    exit 2
    ;;
esac

if [ ! -x "$app_bin" ]; then
  if [ "$kind" = surveyor ]; then
    echo "build-test-image: $app_bin is missing; run \`npm run tools\` (where go install of nats-surveyor is refused: \`NATS_INFRA_PREBUILT_BIN=../shared/bin npm run tools\`)" >&2
  else
    echo "build-test-image: $app_bin is missing; run \`npm run tools\`" >&2
  fi
  exit 1
fi
[ -x "$busybox_bin" ] || { echo "build-test-image: $busybox_bin is missing; run \`apt-get install -y busybox-static\`" >&2; exit 1; }
# A dynamically linked file would not run in an image without a libc (`file` may be absent);
# prometheus gets its libc (below).
statics=("$busybox_bin")
[ "$kind" = prometheus ] || statics+=("$app_bin")
command -v file >/dev/null && for bin in "${statics[@]}"; do
  if LC_ALL=C file -L "$bin" | grep -q 'dynamically linked'; then
    echo "build-test-image: $bin is dynamically linked; the image has no libc (build with CGO_ENABLED=0, use busybox-static)" >&2
    exit 1
  fi
done
command -v docker >/dev/null || { echo "build-test-image: docker is missing; run \`apt-get install -y docker.io\`" >&2; exit 1; }

binary_source=""
if [ "$kind" = surveyor ]; then
  binary_source=$(cat "$app_bin.source" 2>/dev/null || echo "unknown (no $app_bin.source)")
fi
inputs=$( { cat "$app_bin" "$busybox_bin" "$0"; printf '%s' "$kind$binary_source"; } | sha256sum | cut -c1-16)
# Files owned by someone other than root (the monitoring images' users) keep their owner.
owner=(--owner=0 --group=0)

existing=$(docker image inspect -f '{{index .Config.Labels "nats-infra.test-image.inputs"}}' "$tag" 2>/dev/null || true)
if [ "$existing" = "$inputs" ]; then
  echo "build-test-image: $tag is up to date (inputs $inputs)" >&2
  echo "$tag"
  exit 0
fi

stale=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/usr/local/bin" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp -L "$busybox_bin" "$rootfs/bin/busybox"
for applet in $("$busybox_bin" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done

changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
# The monitoring images run as a user of their own, as their upstream images do: /etc/passwd
# names it, it owns the data directory (so a fresh named volume there is writable to it, as in
# production) and the tar keeps that owner; then the container's user, working directory, port,
# entrypoint and any further --change.
#   run_as_own_user PASSWD OWNER DATA_DIR USER WORKDIR PORT ENTRYPOINT [--change ...]
run_as_own_user() {
  local passwd=$1 data_owner=$2 data_dir=$3 user=$4 workdir=$5 port=$6 entrypoint=$7
  shift 7
  mkdir -p "$rootfs/etc" "$rootfs$data_dir" "$rootfs$workdir"
  printf '%s\n' "$passwd" >"$rootfs/etc/passwd"
  chown "$data_owner" "$rootfs$data_dir"
  owner=()
  changes+=(
    --change "USER $user"
    --change "WORKDIR $workdir"
    --change "EXPOSE $port"
    --change "ENTRYPOINT [\"$entrypoint\"]"
    "$@"
  )
}
if [ "$kind" = nats ]; then
  mkdir -p "$rootfs/etc/nats" "$rootfs/data"
  cp -L "$app_bin" "$rootfs/usr/local/bin/nats-server"
  # Same behaviour as the official image's entrypoint: flags alone mean "nats-server <flags>".
  cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
case "${1:-}" in
  "" | -*) set -- nats-server "$@" ;;
esac
exec "$@"
EOF
  chmod 755 "$rootfs/usr/local/bin/docker-entrypoint.sh" "$rootfs/usr/local/bin/nats-server"
  changes+=(
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]'
    --change 'CMD ["nats-server", "--config", "/etc/nats/nats-server.conf"]'
    --change 'EXPOSE 4222 6222 8222'
  )
elif [ "$kind" = nats-box ]; then
  mkdir -p "$rootfs/root"
  cp -L "$app_bin" "$rootfs/usr/local/bin/nats"
  chmod 755 "$rootfs/usr/local/bin/nats"
  # natscli (a CGO_ENABLED=0 build) finds its context directory from $USER and $HOME.
  mkdir -p "$rootfs/etc" && echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  changes+=(--change 'ENV USER=root' --change 'ENV HOME=/root' --change 'WORKDIR /root' --change 'CMD ["sh"]')
elif [ "$kind" = prometheus ]; then
  # The loader and libraries ldd names, at the same paths.
  for lib in $(ldd "$app_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  cp -L "$app_bin" "$rootfs/bin/prometheus"
  [ ! -d /usr/share/prometheus/web ] || { mkdir -p "$rootfs/usr/share/prometheus" && cp -r /usr/share/prometheus/web "$rootfs/usr/share/prometheus/"; }
  mkdir -p "$rootfs/etc/prometheus"
  run_as_own_user 'nobody:x:65534:65534:nobody:/home:/bin/false' 65534:65534 /prometheus 65534:65534 /prometheus 9090 /bin/prometheus \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
elif [ "$kind" = grafana ]; then
  mkdir -p "$rootfs/etc/grafana/provisioning/datasources" "$rootfs/etc/grafana/provisioning/dashboards"
  cat >"$rootfs/run.sh" <<'RUN_SH'
#!/bin/sh
# Not Grafana: reports what the container gives Grafana (see test/docker/build-test-image.sh).
www=/tmp/www
mkdir -p "$www/api"
database=ok
password=missing
file="${GF_SECURITY_ADMIN_PASSWORD__FILE:-}"
if [ -n "$file" ] && [ -s "$file" ] && [ -r "$file" ]; then password="read from $file, $(wc -c <"$file") bytes"; else database=failing; fi
if ! touch /var/lib/grafana/.writable 2>/dev/null; then database=failing; fi
printf '{"database":"%s","version":"stand-in","adminPassword":"%s"}\n' "$database" "$password" >"$www/api/health"
{ find /etc/grafana -type f; [ -z "$file" ] || echo "$file"; } | sort -u | while read -r f; do
  if [ "$f" = "$file" ]; then echo "$f $(wc -c <"$f") (the admin password: its length only)"; else echo "$f $(wc -c <"$f") $(sha256sum "$f" | cut -c1-64)"; fi
done >"$www/provisioning.txt"
exec httpd -f -p 3000 -h "$www"
RUN_SH
  chmod 755 "$rootfs/run.sh"
  run_as_own_user $'root:x:0:0:root:/root:/bin/sh\ngrafana:x:472:0:grafana:/usr/share/grafana:/bin/false' 472:0 /var/lib/grafana 472 /usr/share/grafana 3000 /run.sh
else
  mkdir -p "$rootfs/root"
  cp -L "$app_bin" "$rootfs/usr/local/bin/nats-surveyor"
  ln -s /usr/local/bin/nats-surveyor "$rootfs/nats-surveyor"
  # cicd/assets/entrypoint.sh of nats-io/nats-surveyor.
  cat >"$rootfs/entrypoint.sh" <<'EOF'
#!/bin/sh
exec "/${GO_APP}" "$@"
EOF
  chmod 755 "$rootfs/entrypoint.sh" "$rootfs/usr/local/bin/nats-surveyor"
  changes+=(
    --change 'ENV GO_APP=nats-surveyor'
    --change 'ENTRYPOINT ["/entrypoint.sh"]'
    --change "LABEL nats-infra.test-image.binary-source=\"$binary_source\""
  )
fi

tar --numeric-owner "${owner[@]}" -C "$rootfs" -c . |
  docker import "${changes[@]}" --change "LABEL nats-infra.test-image.inputs=$inputs" - "$tag" >/dev/null
# The previous build is now untagged; drop it unless a container still uses it.
[ -z "$stale" ] || docker image rm "$stale" >/dev/null 2>&1 || true
echo "build-test-image: built $tag (inputs $inputs)" >&2
echo "$tag"
