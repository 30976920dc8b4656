#!/usr/bin/env python3
"""A torch tensor over the GPU memory that a ptfs mount holds, without a copy (docs/gpu.md).

    python3 cupy_consumer.py /mnt/m/layer1/weight

The tensor file's user.pt.cuda_ipc ("cuda:N BUSID HANDLE OFFSET SIZE") gives the CUDA IPC
handle of the allocation holding its storage and where the tensor starts in it; dtype, shape
and stride come from the file's other xattrs. CuPy opens the handle (the device found by its
PCI bus id: CUDA_VISIBLE_DEVICES may number devices differently here than in the daemon),
wraps the memory as an ndarray with the tensor's shape and strides, and torch.from_dlpack
makes a torch tensor of that same memory. Nothing is copied: writing to the tensor would
write the mount's device memory (the file reads would then show it), so treat it as
read-only.

Lifetime: ptfs owns the memory. Close the handle (`close()` below) when done with the
tensor, and before anyone writes `release` or unmounts: CUDA leaves what happens when the
exporter frees memory that another process still has open undefined.
"""
import json
import os
import sys

import cupy
import torch

# torch dtype name -> (the CuPy dtype of the same size that holds the bytes, torch dtype)
# CuPy has no bfloat16 or float8: their bytes go through an integer of the same width and
# torch views them back.
DTYPES = {
    "float64": ("float64", torch.float64),
    "float32": ("float32", torch.float32),
    "float16": ("float16", torch.float16),
    "bfloat16": ("int16", torch.bfloat16),
    "complex64": ("complex64", torch.complex64),
    "complex128": ("complex128", torch.complex128),
    "int64": ("int64", torch.int64),
    "int32": ("int32", torch.int32),
    "int16": ("int16", torch.int16),
    "int8": ("int8", torch.int8),
    "uint8": ("uint8", torch.uint8),
    "bool": ("bool", torch.bool),
}
for f8 in ("float8_e4m3fn", "float8_e5m2"):
    if hasattr(torch, f8):
        DTYPES[f8] = ("uint8", getattr(torch, f8))


def attr(path, name):
    return os.getxattr(path, "user.pt." + name).decode()


def open_tensor(path):
    """(tensor, close): a torch tensor on the GPU over ptfs's memory, and the function
    that closes the IPC handle once the tensor is no longer used."""
    tag, bus, handle, offset, size = attr(path, "cuda_ipc").split(" ")
    offset, size = int(offset), int(size)
    cp_dtype, th_dtype = DTYPES[attr(path, "dtype")]
    shape = json.loads(attr(path, "shape"))
    stride = json.loads(attr(path, "stride"))
    device = cupy.cuda.Device.from_pci_bus_id(bus)
    with device:
        base = cupy.cuda.runtime.ipcOpenMemHandle(bytes.fromhex(handle))
        # the memory is not CuPy's: UnownedMemory never frees it
        mem = cupy.cuda.UnownedMemory(base, offset + max(size, 1), owner=None,
                                      device_id=device.id)
        item = cupy.dtype(cp_dtype).itemsize
        arr = cupy.ndarray(tuple(shape), dtype=cp_dtype,
                           memptr=cupy.cuda.MemoryPointer(mem, offset),
                           strides=tuple(s * item for s in stride))
        tensor = torch.from_dlpack(arr)
        if tensor.dtype != th_dtype:
            tensor = tensor.view(th_dtype)

    def close():
        with device:
            cupy.cuda.runtime.ipcCloseMemHandle(base)

    return tensor, close


def main():
    for path in sys.argv[1:]:
        t, close = open_tensor(path)
        print("%s: %s %s on %s, sum %s" % (path, t.dtype, tuple(t.shape), t.device,
                                            t.double().sum().item()))
        del t  # nothing may use the memory after the handle is closed
        close()


if __name__ == "__main__":
    main()
