"""What one administrator-password check costs (scrypt, as faceattend.admin hashes it).

    python bench/admin_kdf.py        # prints the parameters, memory per guess and the median time
"""

from __future__ import annotations

import os
import platform
import statistics
import time

from faceattend import admin


def main() -> None:
    stored = admin.hash_password("an example password")
    times = []
    for _ in range(9):
        start = time.perf_counter()
        assert admin.check_password("an example password", stored)
        times.append(time.perf_counter() - start)
    memory = 128 * admin.R * 2 ** admin.LOG2_N * admin.P
    print(f"scrypt N=2^{admin.LOG2_N} r={admin.R} p={admin.P}: {memory / 2**20:.0f} MiB per guess")
    print(f"check_password: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms "
          f"over {len(times)} runs ({os.cpu_count()} CPU(s), {platform.processor() or platform.machine()}, "
          f"load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
