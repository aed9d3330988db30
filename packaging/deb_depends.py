"""Check a frozen bundle's system libraries against the Depends of the .deb.

    python packaging/deb_depends.py build/pyi-dist/faceattend --depends "libc6 (>= GLIBC), libgl1, ..." \
        --write build/deb-depends.txt

Reads the NEEDED entries of every ELF file in the bundle (readelf), drops the libraries the
bundle carries itself, finds the rest on this machine (ldconfig -p) and the Debian package that
owns each (dpkg -S). Prints one line per package with the libraries that need it, and exits 1
when a needed package is not declared, or a needed library is not installed here (so its package
cannot be known). The word GLIBC in --depends stands for the newest glibc symbol version any
bundled file needs; --write saves the Depends with it filled in. Run on a Debian/Ubuntu build
machine with the runtime libraries installed (build_linux.sh installs the declared packages first).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path


def elf_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def dynamic_entries(path: Path) -> tuple[list[str], str | None, set[str]]:
    """(NEEDED sonames, own SONAME, GLIBC_x.y versions it needs) of one ELF file."""
    out = subprocess.run(["readelf", "-d", "-V", "-W", str(path)], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    soname = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    glibc = set(re.findall(r"Name: GLIBC_(\d+\.\d+(?:\.\d+)?)\b", out))
    return needed, soname.group(1) if soname else None, glibc


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def system_libraries() -> dict[str, str]:
    """soname -> path of the x86-64 libraries the dynamic loader knows about."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    libs: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"\s+(\S+) \(([^)]*)\) => (\S+)", line)
        if match and "x86-64" in match.group(2):
            libs.setdefault(match.group(1), match.group(3))
    return libs


def owning_package(path: str) -> str | None:
    candidates = {path, os.path.realpath(path)}
    for p in list(candidates):  # usrmerge: dpkg may know the file under /lib or /usr/lib
        if p.startswith("/usr/lib/"):
            candidates.add(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.add("/usr" + p)
    for candidate in sorted(candidates):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def declared(depends: str) -> set[str]:
    return {re.split(r"[\s(]", part.strip(), maxsplit=1)[0] for part in depends.split(",") if part.strip()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--depends", required=True, help="the Depends field of the .deb")
    parser.add_argument("--write", type=Path, help="save the Depends, GLIBC filled in, to this file")
    args = parser.parse_args()

    files = elf_files(args.bundle)
    carried = {p.name for p in args.bundle.rglob("*")}
    needed_by: dict[str, set[str]] = defaultdict(set)
    glibc = {"2.17"}
    for path in files:
        needed, soname, versions = dynamic_entries(path)
        glibc |= versions
        if soname:
            carried.add(soname)
        for lib in needed:
            needed_by[lib].add(str(path.relative_to(args.bundle)))
    system = {lib: users for lib, users in needed_by.items() if lib not in carried}

    known = system_libraries()
    packages: dict[str, set[str]] = defaultdict(set)
    unknown = []
    for lib in sorted(system):
        package = owning_package(known[lib]) if lib in known else None
        if package is None:
            unknown.append(lib)
        else:
            packages[package].add(lib)

    want = declared(args.depends)
    newest_glibc = max(glibc, key=version_key)
    print(f"   {len(files)} ELF files, {len(system)} system libraries from {len(packages)} packages, "
          f"glibc >= {newest_glibc}")
    for package in sorted(packages):
        mark = "ok " if package in want else "MISSING"
        print(f"   {mark:7} {package}: {', '.join(sorted(packages[package]))}")
    for package in sorted(want - set(packages)):
        print(f"   unused  {package} (declared, no bundled file links to it)")
    for lib in unknown:
        users = sorted(system[lib])
        print(f"   UNKNOWN {lib}: not installed on this machine; needed by {', '.join(users[:3])}")
    missing = set(packages) - want
    if missing or unknown:
        print(f"deb_depends: undeclared packages {sorted(missing)}, unresolved libraries {unknown}",
              file=sys.stderr)
        return 1
    if args.write:
        args.write.write_text(args.depends.replace("GLIBC", newest_glibc) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
