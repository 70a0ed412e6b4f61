"""Carrier Studio: build, test and run AI agents (characters) on your own machine."""

import os

__version__ = "0.1.0"

# numpy's OpenBLAS starts a thread per core, and when the cores are busy with other work its
# threads wait on each other: the memory map's PCA (a 384 × 384 SVD, 0.3 s) took 10 s with both
# cores busy. The app's matrices are small and its work already runs on several threads, so BLAS
# gets one, as the embedder's onnxruntime does. It must be set before numpy loads: every entry
# point (and the tests' conftest) imports this package first. A value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
