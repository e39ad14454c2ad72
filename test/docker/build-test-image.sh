#!/usr/bin/env bash
# Builds the local stand-in for the pinned nats image (config/versions.json natsServer.image),
# because no registry is reachable from test machines. The layout copies what our code relies on
# in nats:<v>-alpine: nats-server at /usr/local/bin/nats-server, a shell and wget (busybox) for
# the healthcheck, an entrypoint that runs `nats-server` when given only flags, and /etc/nats and
# /data as the config and data directories. So `docker exec <c> nats-server -t ...` and the
# healthcheck are the same lines in tests and in production.
#
# Uses `docker import` of a root filesystem (no builder needed, works with any engine version).
# The image carries a label with a hash of its inputs; when an image with that tag and hash
# exists the build is skipped. Prints the image tag as the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."

server_bin=".tools/bin/nats-server"
busybox_bin="${BUSYBOX:-/bin/busybox}"
[ -x "$server_bin" ] || { echo "build-test-image: $server_bin is missing; run \`npm run tools\`" >&2; exit 1; }
[ -x "$busybox_bin" ] || { echo "build-test-image: $busybox_bin is missing; run \`apt-get install -y busybox-static\`" >&2; exit 1; }
# A dynamically linked file would not run in an image without a libc (`file` may be absent).
command -v file >/dev/null && for bin in "$server_bin" "$busybox_bin"; do
  if LC_ALL=C file -L "$bin" | grep -q 'dynamically linked'; then
    echo "build-test-image: $bin is dynamically linked; the image has no libc (build nats-server with CGO_ENABLED=0, use busybox-static)" >&2
    exit 1
  fi
done
command -v docker >/dev/null || { echo "build-test-image: docker is missing; run \`apt-get install -y docker.io\`" >&2; exit 1; }

version=$(node -p 'require("./config/versions.json").natsServer.version.replace(/^v/, "")')
tag="${NATS_TEST_IMAGE:-nats-infra-test/nats:$version}"
inputs=$(cat "$server_bin" "$busybox_bin" "$0" | sha256sum | cut -c1-16)

existing=$(docker image inspect -f '{{index .Config.Labels "nats-infra.test-image.inputs"}}' "$tag" 2>/dev/null || true)
if [ "$existing" = "$inputs" ]; then
  echo "build-test-image: $tag is up to date (inputs $inputs)" >&2
  echo "$tag"
  exit 0
fi

stale=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/usr/local/bin" "$rootfs/etc/nats" "$rootfs/data" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp -L "$server_bin" "$rootfs/usr/local/bin/nats-server"
cp -L "$busybox_bin" "$rootfs/bin/busybox"
for applet in $("$busybox_bin" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
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

tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["nats-server", "--config", "/etc/nats/nats-server.conf"]' \
    --change 'EXPOSE 4222 6222 8222' \
    --change "LABEL nats-infra.test-image.inputs=$inputs" \
    - "$tag" >/dev/null
# The previous build is now untagged; drop it unless a container still uses it.
[ -z "$stale" ] || docker image rm "$stale" >/dev/null 2>&1 || true
echo "build-test-image: built $tag (inputs $inputs)" >&2
echo "$tag"
