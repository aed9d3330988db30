"""Network calls on a bounded set of batch sizes.

On the CPU, PyTorch's oneDNN backend compiles and caches a kernel ("primitive") for every input
shape it sees, up to 1,024 of them, and each keeps its own scratch memory. The detector's RNet and
ONet see a different number of candidate boxes in almost every frame, and the embedder a
different number of faces, so a camera left running grows the process by hundreds of megabytes
as new counts turn up (measured: RNet fed every count from 1 to 300 grew from 240 MB to 2.2 GB;
the embedder fed 1 to 64 faces grew by 1.3 GB). Padding each batch up to the next size of a short
ladder keeps the shapes, and so the cache, to a few dozen (RNet 1 to 300: 240 -> 320 MB), for
about 3% of the detector's time per frame on the sample clip.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: Sizes a batch is padded up to: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, then every multiple of 16 to 1,024
#: (at most 15 padding rows where batches are big and a row costs most).
LADDER: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, *range(48, 1025, 16))


def padded_size(n: int, largest: int) -> int:
    """The smallest ladder size holding ``n`` rows, ``largest`` at most (callers chunk above it)."""
    return min(next((size for size in LADDER if size >= n), largest), largest)


def run_padded(
    forward: Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, ...]], x: torch.Tensor, largest: int = 256
) -> tuple[torch.Tensor, ...]:
    """``forward`` over ``x`` in chunks of ladder sizes, zero rows padding the last; outputs cut back to ``len(x)``.

    ``forward`` must treat rows independently (a network in eval mode does), so the padding
    never changes a real row's output. Always returns a tuple, one tensor per output.
    """
    if not len(x):
        return _as_tuple(forward(x))
    outputs: list[tuple[torch.Tensor, ...]] = []
    for start in range(0, len(x), largest):
        chunk = x[start : start + largest]
        size = padded_size(len(chunk), largest)
        if size > len(chunk):
            chunk = torch.cat([chunk, chunk.new_zeros((size - len(chunk), *chunk.shape[1:]))])
        outputs.append(tuple(part[: min(largest, len(x) - start)] for part in _as_tuple(forward(chunk))))
    if len(outputs) == 1:
        return outputs[0]
    return tuple(torch.cat(parts) for parts in zip(*outputs, strict=True))


def _as_tuple(out: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)
