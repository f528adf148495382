#!/usr/bin/env bash
# Prometheus node exporter for the metrics end-to-end test (tests/test_metrics.py): the test starts its own
# exporter on a loopback port with only the textfile collector; no system service is configured here.
# Does nothing when the binary is present; otherwise installs Debian's package (root, or passwordless sudo).
# KEYAUDIT_SKIP_NODE_EXPORTER=1 skips the install (the node exporter test then skips, saying why).
set -euo pipefail

binary=/usr/bin/prometheus-node-exporter

if [ "${KEYAUDIT_SKIP_NODE_EXPORTER:-}" = "1" ]; then
    exit 0
fi
if [ -x "$binary" ]; then
    exit 0
fi

hint="install it with: apt-get install -y --no-install-recommends prometheus-node-exporter (or set KEYAUDIT_SKIP_NODE_EXPORTER=1 to skip the node exporter test)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-node-exporter: $binary missing and no apt-get here; $hint" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
        echo "ensure-node-exporter: $binary missing and not root; $hint" >&2
        exit 1
    fi
    sudo=(sudo -n)
fi

echo "ensure-node-exporter: installing prometheus-node-exporter (Debian package) for the metrics test" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus-node-exporter >/dev/null
if ! [ -x "$binary" ]; then
    echo "ensure-node-exporter: installed, but $binary is still missing" >&2
    exit 1
fi
