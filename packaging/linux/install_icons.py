"""Install the app icon from assets/ into a hicolor icon tree, as ``faceattend.png`` / ``.svg``.

    python packaging/linux/install_icons.py assets build/deb-root/usr/share/icons/hicolor

Takes ``assets/faceattend.svg`` (scalable) if present, and every square PNG whose name starts
with ``faceattend`` or ``icon`` at its own size; a large PNG is also scaled down to 256, 128, 64,
48 and 32 pixels. Prints what it installed; with no icon in assets/ it warns and installs nothing
(the desktop entry then shows the theme's generic icon).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def main(assets: Path, hicolor: Path) -> int:
    installed: list[str] = []
    svgs = sorted(assets.glob("faceattend*.svg")) + sorted(assets.glob("icon*.svg"))
    if svgs:
        target = hicolor / "scalable" / "apps" / "faceattend.svg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(svgs[0], target)
        installed.append(f"scalable ({svgs[0].name})")

    from PIL import Image

    pngs: dict[int, Path] = {}
    for path in sorted(assets.glob("faceattend*.png")) + sorted(assets.glob("icon*.png")):
        with Image.open(path) as image:
            if image.width == image.height and image.width in SIZES:
                pngs.setdefault(image.width, path)
    if pngs:
        largest = pngs[max(pngs)]
        with Image.open(largest) as image:
            source = image.convert("RGBA")
        for size in SIZES:
            if size > max(pngs) or (size < 32 and size not in pngs):
                continue
            target = hicolor / f"{size}x{size}" / "apps" / "faceattend.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            if size in pngs:
                shutil.copyfile(pngs[size], target)
            else:
                source.resize((size, size), Image.Resampling.LANCZOS).save(target)
            installed.append(f"{size}x{size}")
    if not installed:
        print(f"   warning: no icon in {assets} (faceattend.svg or a square faceattend*.png); "
              "the menu entry gets the generic icon")
        return 0
    print(f"   icons: {', '.join(installed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
