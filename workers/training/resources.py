"""What a job used: wall and CPU seconds, peak memory, GPU time and memory on CUDA."""

from __future__ import annotations

import resource
import sys
import time


class Meter:
    """Started when the job starts. CPU seconds are this process's user + system time since
    then; peak RSS is the process's high-water mark (in a long-lived worker that includes
    earlier jobs, which is still the number that matters for sizing a worker)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.cpu_started = _cpu_seconds()
        self.gpu_seconds = 0.0
        self.device = "cpu"

    def cuda_started(self) -> None:
        import torch

        self.device = "cuda"
        torch.cuda.reset_peak_memory_stats()

    def snapshot(self) -> dict:
        peak_gpu = None
        if self.device == "cuda":
            import torch

            peak_gpu = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # ru_maxrss is KiB on Linux, bytes on macOS.
        peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 1024
        return {
            "device": self.device,
            "wall_seconds": round(time.perf_counter() - self.started, 3),
            "cpu_seconds": round(_cpu_seconds() - self.cpu_started, 3),
            "peak_rss_mb": round(peak_mb, 1),
            "gpu_seconds": round(self.gpu_seconds, 3) if self.device == "cuda" else None,
            "peak_gpu_mem_mb": peak_gpu,
        }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
