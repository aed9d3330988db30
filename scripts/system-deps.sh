#!/usr/bin/env bash
# Debian/Ubuntu libraries Qt needs to run offscreen (tests) and, with --xvfb, in a virtual screen.
# Installs only what is missing; does nothing on other systems.
set -eu
pkgs="libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfreetype6 libfontconfig1 libdbus-1-3"
if [ "${1:-}" = "--xvfb" ]; then
  pkgs="$pkgs xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0"
fi
# shellcheck disable=SC2086
exec bash "$(dirname "$0")/../packaging/linux/system-packages.sh" $pkgs
