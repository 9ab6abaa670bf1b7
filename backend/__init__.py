"""EmoClassify analysis engine: media in, emotions over time out. No web code lives here."""

import os

# MTCNN's later stages see a different number of candidate boxes in every frame; oneDNN caches a compiled
# primitive per input shape (1024 by default), which made memory grow with the length of a video (+130 MB per
# 300 frames) and slowed detection. A small cache keeps memory flat and detection faster. Must be set before
# torch first runs a convolution, hence here, at the package's import.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")

# onnxruntime (the voice network, faster-whisper's voice-activity model) reports its use to Microsoft from 1.32 on
# Linux: it keeps a device id under ~/.cache/Microsoft, a session file in TMPDIR, and uploads when it can reach the
# internet. An analysis of people's faces and voices sends nothing anywhere; the switch counts only if set before
# onnxruntime first starts, hence here too.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# numpy's OpenBLAS starts a thread per core for every matrix product, however small: MTCNN's crops are thousands of
# tiny products, and their thread hand-offs cost 10x the arithmetic (detection 99 instead of 59 ms a frame here
# beside another busy process). The large products of an analysis run in onnxruntime, which has its own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
