#!/usr/bin/env bash
# Puts promtool and prometheus on PATH for the monitoring tests (Debian's `prometheus` package,
# 2.42 on bookworm: the version the pinned image runs). Only the binaries are wanted: the
# package's service is stopped if the install started it.
set -euo pipefail

if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
  prometheus --version 2>&1 | head -n 1
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "promtool/prometheus not found and no apt-get here: install Prometheus 2.42 so that both are on PATH" >&2
  exit 1
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
# In a container the package's service is usually refused a start (policy-rc.d); on a host with
# systemd it starts and would hold port 9090.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  as_root systemctl stop prometheus
  as_root systemctl disable prometheus >/dev/null 2>&1 || true
fi
prometheus --version 2>&1 | head -n 1
