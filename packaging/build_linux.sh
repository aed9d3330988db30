#!/usr/bin/env bash
# Build the Linux installers of faceattend (see packaging/README.md):
#   dist/faceattend-<version>-linux-x86_64.tar.xz   the one-folder app; unpack anywhere, run ./faceattend
#   dist/faceattend_<version>_amd64.deb             installs into /opt/faceattend, `faceattend` on the
#                                                   PATH, a desktop entry and an icon
# The build uses its own venv (build/pkg-venv) with only the runtime dependencies, never the dev
# .venv: CPU torch first (so the project's torch range is already met and no CUDA wheels come in),
# then `pip install .`, then PyInstaller, all with constraints.txt (the versions the tests ran on).
# The venv is reused while pyproject.toml, constraints.txt and the pins below are unchanged;
# FRESH=1 rebuilds it.
#
# Environment: PYTHON (python3), TORCH (torch==2.13.0; elsewhere add
# "--index-url https://download.pytorch.org/whl/cpu"), PYINSTALLER (pyinstaller==6.22.3),
# FRESH=1, XZ_LEVEL (6).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PYTHON=${PYTHON:-python3}
TORCH=${TORCH:-torch==2.13.0}
PYINSTALLER=${PYINSTALLER:-pyinstaller==6.22.3}
XZ_LEVEL=${XZ_LEVEL:-6}
VENV=$ROOT/build/pkg-venv
DIST=$ROOT/dist
# Debian packages holding the system libraries the bundle links to but does not carry (glibc,
# OpenGL/EGL, fontconfig/freetype, D-Bus, GLib, X11/xcb for the xcb platform plugin, Wayland).
# packaging/deb_depends.py checks this list against the bundle on every build, and replaces GLIBC
# with the newest glibc symbol version the bundle needs.
DEPENDS="libc6 (>= GLIBC), libgcc-s1, libstdc++6, zlib1g, libbz2-1.0, liblzma5, libzstd1, libffi8, libuuid1, libgl1, libegl1, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0, libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-glx0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-render0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-util1, libxcb-xfixes0, libxcb-xkb1, libwayland-client0, libwayland-cursor0, libwayland-egl1"

step_start=0
step() { step_start=$SECONDS; echo "== $*"; }
done_step() { echo "   ($((SECONDS - step_start)) s)"; }
build_start=$SECONDS

# pip's output (and setuptools' warnings while building the project) goes to build/pip.log.
pip_install() {
  "$VENV/bin/python" -m pip install --quiet "$@" >> "$ROOT/build/pip.log" 2>&1 \
    || { tail -n 40 "$ROOT/build/pip.log"; echo "pip install $* failed (build/pip.log)"; exit 1; }
}

# -- 0. system packages: the tools, and the libraries the bundle links to (deb_depends.py must find
# each of them here to name its package); installs only what is missing (apt-get, sudo if not root).
step "system packages"
bash packaging/linux/system-packages.sh "binutils, xz-utils, $DEPENDS"
done_step

# -- 1. the build venv ---------------------------------------------------------------------------
step "venv $VENV"
mkdir -p build
: > build/pip.log
stamp="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16) $TORCH $PYINSTALLER $($PYTHON -V 2>&1)"
if [ "${FRESH:-0}" = 1 ] || [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  pip_install --upgrade pip
  # shellcheck disable=SC2086  # TORCH may carry --index-url
  bash scripts/install_torch.sh "$VENV/bin/python" $TORCH >> "$ROOT/build/pip.log" 2>&1 \
    || { tail -n 20 "$ROOT/build/pip.log"; exit 1; }
  pip_install -c constraints.txt "$PYINSTALLER"
  echo "$stamp" > "$VENV/.stamp"
fi
# The project itself, every time (pip always reinstalls a local folder). setuptools builds
# in build/lib: clear it so a module deleted from the source cannot linger in the bundle.
rm -rf build/lib build/bdist.*
pip_install -c constraints.txt .  # a local folder is always reinstalled; the tested versions
rm -rf build/lib build/bdist.*
"$VENV/bin/python" -m pip check
done_step

# Ask the installed package (not the source tree) for its version: run outside the repo root.
VERSION=$(cd /tmp && "$VENV/bin/python" -c 'import faceattend; print(faceattend.__version__)')
echo "   faceattend $VERSION, $("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)')"

# -- 2. PyInstaller ------------------------------------------------------------------------------
# Run from build/ with the console script, so the analysis sees the installed faceattend, not
# the source tree (python -m would put the working directory first on sys.path).
step "pyinstaller"
APP=$ROOT/build/pyi-dist/faceattend
rm -rf "$APP"
(cd build && PYTHONWARNINGS=ignore::DeprecationWarning "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$ROOT/build/pyi-dist" --workpath "$ROOT/build/pyi-work" "$ROOT/packaging/faceattend.spec")
test -x "$APP/faceattend"
done_step

step "check the bundle's system libraries against the .deb Depends"
"$VENV/bin/python" packaging/deb_depends.py "$APP" --depends "$DEPENDS" --write build/deb-depends.txt
DEPENDS=$(cat build/deb-depends.txt)
done_step

mkdir -p "$DIST"
TARBALL=$DIST/faceattend-$VERSION-linux-x86_64.tar.xz
DEB=$DIST/faceattend_${VERSION}_amd64.deb

# -- 3. tarball ----------------------------------------------------------------------------------
step "tarball $TARBALL"
tar -C "$ROOT/build/pyi-dist" --sort=name --owner=0 --group=0 --numeric-owner \
  --transform "flags=rh;s,^faceattend,faceattend-$VERSION," -cf - faceattend \
  | xz -T2 "-$XZ_LEVEL" > "$TARBALL.tmp"
mv "$TARBALL.tmp" "$TARBALL"
done_step

# -- 4. .deb -------------------------------------------------------------------------------------
step "deb $DEB"
STAGE=$ROOT/build/deb-root
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/doc/faceattend"
cp -al "$APP" "$STAGE/opt/faceattend"  # hard links: no second copy of ~1 GB
ln -s /opt/faceattend/faceattend "$STAGE/usr/bin/faceattend"
install -m 644 packaging/linux/faceattend.desktop "$STAGE/usr/share/applications/faceattend.desktop"
"$VENV/bin/python" packaging/linux/install_icons.py "$ROOT/assets" "$STAGE/usr/share/icons/hicolor"
install -m 644 packaging/linux/copyright "$STAGE/usr/share/doc/faceattend/copyright"
installed_kb=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: faceattend
Version: $VERSION
Architecture: amd64
Maintainer: faceattend developers <faceattend@localhost>
Installed-Size: $installed_kb
Depends: $DEPENDS
Section: graphics
Priority: optional
Homepage: https://github.com/faceattend/faceattend
Description: offline face-recognition attendance
 A desktop attendance app: people check in by looking at a webcam. Detection
 (MTCNN) and recognition (MobileNet-FaceNet) run locally on the CPU with
 PyTorch; attendance is kept in SQLite and exports to CSV. Nothing is sent
 over the network.
EOF
chmod -R u+rwX,go+rX,go-w "$STAGE"
dpkg-deb --root-owner-group -Zxz "-z$XZ_LEVEL" --build "$STAGE" "$DEB.tmp" >/dev/null
mv "$DEB.tmp" "$DEB"
rm -rf "$STAGE"
done_step

# -- 5. what came out ----------------------------------------------------------------------------
mb() { echo "$(( ($1 + 524288) / 1048576 )) MB"; }
echo "== done in $((SECONDS - build_start)) s: faceattend $VERSION"
echo "   unpacked app:  $(mb "$(du -sb "$APP" | cut -f1)") ($(find "$APP" -type f | wc -l) files)"
echo "   $(basename "$TARBALL"): $(mb "$(stat -c %s "$TARBALL")")"
echo "   $(basename "$DEB"): $(mb "$(stat -c %s "$DEB")")"
