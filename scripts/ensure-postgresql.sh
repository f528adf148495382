#!/usr/bin/env bash
# PostgreSQL server binaries for the database tests (tests/postgres.py): the tests initdb and start their own
# throwaway cluster on a loopback port; no system cluster is configured or started here. If the package's
# own setup creates and starts a `main` cluster, it is left alone: the tests never use it.
# Does nothing when initdb and pg_ctl exist under /usr/lib/postgresql/*/bin; otherwise installs Debian's
# package (root, or passwordless sudo). KEYAUDIT_SKIP_POSTGRES=1 skips the install (the PostgreSQL tests
# then skip, saying why).
set -euo pipefail

if [ "${KEYAUDIT_SKIP_POSTGRES:-}" = "1" ]; then
    exit 0
fi

have_server_binaries() {
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then
            return 0
        fi
    done
    return 1
}

if have_server_binaries; then
    exit 0
fi

hint="install it with: apt-get install -y --no-install-recommends postgresql (or set KEYAUDIT_SKIP_POSTGRES=1 to skip the PostgreSQL tests)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgresql: initdb/pg_ctl missing and no apt-get here; $hint" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
        echo "ensure-postgresql: initdb/pg_ctl missing and not root; $hint" >&2
        exit 1
    fi
    sudo=(sudo -n)
fi

echo "ensure-postgresql: installing postgresql (Debian package) for the PostgreSQL tests" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
if ! have_server_binaries; then
    echo "ensure-postgresql: installed, but initdb/pg_ctl are still missing under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
