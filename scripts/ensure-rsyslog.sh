#!/usr/bin/env bash
# rsyslog for the syslog delivery tests (tests/test_syslog.py): the tests start their own rsyslogd on
# loopback ports with a generated configuration; no system service is configured or started here.
# Does nothing when rsyslogd is present; otherwise installs Debian's package (root, or passwordless sudo).
# KEYAUDIT_SKIP_RSYSLOG=1 skips the install (the rsyslog tests then skip, saying why).
set -euo pipefail

if [ "${KEYAUDIT_SKIP_RSYSLOG:-}" = "1" ]; then
    exit 0
fi
if [ -x /usr/sbin/rsyslogd ] || command -v rsyslogd >/dev/null 2>&1; then
    exit 0
fi

hint="install it with: apt-get install -y --no-install-recommends rsyslog (or set KEYAUDIT_SKIP_RSYSLOG=1 to skip the rsyslog tests)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-rsyslog: rsyslogd missing and no apt-get here; $hint" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
        echo "ensure-rsyslog: rsyslogd missing and not root; $hint" >&2
        exit 1
    fi
    sudo=(sudo -n)
fi

echo "ensure-rsyslog: installing rsyslog (Debian package) for the syslog delivery tests" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends rsyslog >/dev/null
if ! [ -x /usr/sbin/rsyslogd ]; then
    echo "ensure-rsyslog: installed, but /usr/sbin/rsyslogd is still missing" >&2
    exit 1
fi
