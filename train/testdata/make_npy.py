"""Writes the numpy files the tests of graph and internal/npy read. Run with Debian's python3-numpy:
    python3 train/testdata/make_npy.py
The files are committed; this script documents how they were made."""
import io
import os

import numpy as np
from numpy.lib import format as npf

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "..", "internal", "npy", "testdata")

# The original experiment's starting weights: what train.py drew before training.
np.random.seed(42)
w0 = np.random.rand(2, 4)
w1 = np.random.rand(4, 1)
np.save(os.path.join(here, "xor_numpy_init", "weights0.npy"), w0)
np.save(os.path.join(here, "xor_numpy_init", "weights1.npy"), w1)

np.save(os.path.join(out, "f8_2x3.npy"), np.arange(6, dtype="<f8").reshape(2, 3) / 7)
np.save(os.path.join(out, "f4_4.npy"), np.array([1.5, -2.25, 3e-8, 1e30], dtype="<f4"))
np.save(os.path.join(out, "f4_2x3x4.npy"), np.arange(24, dtype="<f4").reshape(2, 3, 4) - 11.5)
np.save(os.path.join(out, "f8_scalar.npy"), np.float64(3.25))
np.save(os.path.join(out, "f8_empty.npy"), np.zeros((0, 3)))
with open(os.path.join(out, "f8_v2.npy"), "wb") as f:
    npf.write_array(f, np.array([[1.0, 2.0], [3.0, 4.0]]), version=(2, 0))
np.save(os.path.join(out, "fortran.npy"), np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)))
np.save(os.path.join(out, "bigendian.npy"), np.arange(3, dtype=">f8"))
np.save(os.path.join(out, "int64.npy"), np.arange(3, dtype="<i8"))
np.save(os.path.join(out, "object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
