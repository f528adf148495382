#!/usr/bin/env bash
# Chromium and chromedriver for the HTML report's browser test (tests/test_html_report.py).
# Does nothing when both are present; otherwise installs Debian's packages (root, or passwordless sudo).
# KEYAUDIT_SKIP_BROWSER=1 skips the install (the test then skips, saying why).
set -euo pipefail

if [ "${KEYAUDIT_SKIP_BROWSER:-}" = "1" ]; then
    exit 0
fi
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi

hint="install them with: apt-get install -y --no-install-recommends chromium chromium-driver (or set KEYAUDIT_SKIP_BROWSER=1 to skip the browser test)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium/chromedriver missing and no apt-get here; $hint" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
        echo "ensure-chromium: chromium/chromedriver missing and not root; $hint" >&2
        exit 1
    fi
    sudo=(sudo -n)
fi

echo "ensure-chromium: installing chromium and chromium-driver (Debian packages) for the browser test" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "ensure-chromium: installed, but /usr/bin/chromium or /usr/bin/chromedriver is still missing" >&2
    exit 1
fi
