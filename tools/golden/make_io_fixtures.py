#!/usr/bin/env python3
"""Fixtures for TrainLabIO's tests, written by the reference libraries (run offline; CI never
needs Python):

    ~/venv-torch/bin/pip install torch numpy safetensors
    ~/venv-torch/bin/python tools/golden/make_io_fixtures.py

Writes Tests/TrainLabIOTests/Fixtures/:
  python_mixed.safetensors   F64, F32, F16 and BF16 tensors with metadata (save_file sorts by
                             dtype size, then name, so file order differs from name order)
  python_f32.safetensors     F32 tensors and one metadata key: TrainLabIO must write these bytes
  *.npy                      numpy.save of each dtype TrainLabIO reads, format versions 1.0, 2.0
                             and 3.0, a scalar, an empty array, and files it must refuse
                             (Fortran order, big-endian, object, structured)
The Swift tests hard-code the same values; keep the two in step.
"""
import os

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "TrainLabIOTests", "Fixtures")


def quarter_steps(count, shape):
    """-1, -0.75, -0.5, ...: exact in every float format."""
    return (np.arange(count, dtype=np.float32) / 4 - 1).reshape(shape)


def safetensors_fixtures():
    mixed = {
        "weight": torch.from_numpy(quarter_steps(6, (2, 3))),
        "bias": torch.tensor([0.1, -2.5], dtype=torch.float32),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "double": torch.tensor([0.1, 1 / 3, -2.5, 1e300], dtype=torch.float64),
        "half": torch.tensor([0.5, -1.5, 65504.0, 2.0 ** -24], dtype=torch.float16),
        "brain": torch.tensor([1.0, -0.5, 3.0e38, 2.0 ** -130], dtype=torch.bfloat16),
    }
    save_file(mixed, os.path.join(OUT, "python_mixed.safetensors"),
              metadata={"note": "quote \" and é"})  # one key: Python orders several at random

    f32_only = {
        "layers.1.weight": torch.from_numpy(quarter_steps(4, (1, 4))),
        "layers.0.weight": torch.from_numpy(quarter_steps(8, (4, 2))),
        "layers.0.bias": torch.tensor([0.25, -0.125, 1.0, 0.0], dtype=torch.float32),
        "layers.1.bias": torch.tensor([2.0], dtype=torch.float32),
    }
    save_file(f32_only, os.path.join(OUT, "python_f32.safetensors"), metadata={"format": "pt"})


def save_npy(name, array, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, array, allow_pickle=array.dtype.hasobject)
    else:
        with open(path, "wb") as file:
            np.lib.format.write_array(file, array, version=version, allow_pickle=False)


def npy_fixtures():
    save_npy("f4.npy", quarter_steps(6, (2, 3)))
    save_npy("f8.npy", np.array([0.1, 1 / 3, -2.5, 1e300], dtype="<f8"))
    save_npy("f2.npy", np.array([0.5, -1.5, 65504.0, 2.0 ** -24], dtype="<f2"))
    save_npy("i1.npy", np.array([-128, 0, 127], dtype="|i1"))
    save_npy("u1.npy", np.array([0, 7, 255], dtype="|u1"))
    save_npy("i2.npy", np.array([-32768, 32767], dtype="<i2"))
    save_npy("u2.npy", np.array([0, 65535], dtype="<u2"))
    save_npy("i4.npy", np.array([[-3, 0], [7, 2 ** 31 - 1]], dtype="<i4"))
    save_npy("u4.npy", np.array([0, 2 ** 32 - 1], dtype="<u4"))
    save_npy("i8.npy", np.array([-(2 ** 40), 0, 2 ** 62], dtype="<i8"))
    save_npy("u8.npy", np.array([0, 2 ** 63 - 1], dtype="<u8"))
    save_npy("u8_too_large.npy", np.array([1, 2 ** 63], dtype="<u8"))
    save_npy("scalar_f4.npy", np.array(3.5, dtype="<f4"))
    save_npy("empty_f4.npy", np.zeros((0, 3), dtype="<f4"))
    save_npy("v2_f4.npy", quarter_steps(6, (3, 2)), version=(2, 0))
    save_npy("v3_i8.npy", np.array([5, -6], dtype="<i8"), version=(3, 0))
    save_npy("fortran_f4.npy", np.asfortranarray(quarter_steps(6, (2, 3))))
    save_npy("big_endian_f4.npy", np.array([1.0, 2.0], dtype=">f4"))
    save_npy("object.npy", np.array([1, "a"], dtype=object))
    save_npy("structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    safetensors_fixtures()
    npy_fixtures()
    total = sum(os.path.getsize(os.path.join(OUT, name)) for name in os.listdir(OUT))
    print(f"wrote {OUT} ({total} bytes)")
