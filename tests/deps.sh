#!/bin/sh
# deps.sh - install the Debian packages named in $DEB that are missing.
# Quick (no network) when all are present. Needs root, or sudo.
set -e
missing=
for p in $DEB; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
        grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "deps: missing packages:$missing; run 'make deps' as root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks for its mailer type unless told; a local-only setup keeps the
# system instance quiet. The tests run their own instance.
echo "postfix postfix/main_mailer_type select No configuration" |
    $SUDO debconf-set-selections 2>/dev/null || true
if ! $SUDO apt-get install -y -q --no-install-recommends $missing \
    </dev/null; then
    $SUDO apt-get update -q </dev/null
    $SUDO apt-get install -y -q --no-install-recommends $missing </dev/null
fi
