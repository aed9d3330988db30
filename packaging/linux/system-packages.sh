#!/usr/bin/env bash
# Install the Debian/Ubuntu packages named as arguments that are not installed yet (version
# constraints such as "libc6 (>= 2.35)," are ignored). Used by build_linux.sh for the tools and the
# runtime libraries the bundle links to (deb_depends.py must find each of them on the build
# machine), and by `make test-packaging` for debootstrap. Does nothing where dpkg is missing.
set -eu
command -v dpkg-query >/dev/null 2>&1 || exit 0
missing=""
for p in $(echo "$*" | sed 's/([^)]*)//g; s/,/ /g'); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "   installing system packages:$missing"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
