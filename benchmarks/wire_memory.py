"""Peak memory of the judge process (VmHWM) while it grades hostile hw1 submissions, with the
verdict each gets: what a worker sends back must never cost the judge more than a bounded
amount (goal: under 1.2 GiB whatever a submission sends) and every check ends with a verdict.

    python benchmarks/wire_memory.py [--case NAME ...]

Each case is the hw1 stub with hostile code appended, graded in a fresh process by
`python -m grader check hw1 --submission X --format json`, started through a small launcher
that records the judge's own /proc/self/status VmHWM at exit (getrusage's RUSAGE_CHILDREN
would also count the zygote and the workers, which hold the hostile data themselves).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MIB = 1.2 * 1024
TARGET = "arange_grid"  # the hostile function: two checks call it, the rest must still run

FIND_CHANNEL = """
import json, os, stat, struct, time

def _channel():
    # the worker's socket to the judge: the one socket among its descriptors
    for fd in range(3, 1024):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass

def _forge(blob_bytes):
    text = json.dumps({"ok": True, "value": None, "__blobs__": [blob_bytes]}).encode()
    os.write(_channel(), struct.pack("!QQ", len(text), blob_bytes) + text)
    time.sleep(3600)
"""

CASES = {
    "forged-2GiB-claim": (
        "a reply header claiming a 2 GiB blob, then silence",
        FIND_CHANNEL + f"\ndef {TARGET}(rows, cols):\n    _forge(2 << 30)\n",
    ),
    "forged-500MiB-claim": (
        "a claim under the cap (500 MiB), then silence until the deadline",
        FIND_CHANNEL + f"\ndef {TARGET}(rows, cols):\n    _forge(500 << 20)\n",
    ),
    "real-1GiB-tensor": (
        "returns a real 1 GiB tensor",
        f"import torch\ndef {TARGET}(rows, cols):\n"
        "    return torch.zeros(1 << 30, dtype=torch.uint8)\n",
    ),
    "real-400MiB-tensor": (
        "returns a real 400 MiB tensor (under the cap: received and decoded)",
        f"import torch\ndef {TARGET}(rows, cols):\n"
        "    return torch.zeros(400 << 20, dtype=torch.uint8)\n",
    ),
    "1M-named-tuples": (
        "returns one million one-field named tuples (~50 MB of JSON)",
        f"import collections\nP = collections.namedtuple('P', 'a')\ndef {TARGET}(rows, cols):\n"
        "    return [P(i) for i in range(1_000_000)]\n",
    ),
    "300k-named-tuples": (
        "returns 300,000 one-field named tuples (under the caps: decoded)",
        f"import collections\nP = collections.namedtuple('P', 'a')\ndef {TARGET}(rows, cols):\n"
        "    return [P(i) for i in range(300_000)]\n",
    ),
    "worst-mix": (
        "just under the caps: a 300 MiB tensor and 3 million short strings (~200 MiB to parse)",
        f"import torch\ndef {TARGET}(rows, cols):\n"
        "    return torch.zeros(300 << 20, dtype=torch.uint8), ['ab'] * 3_000_000\n",
    ),
}

# `python -m grader ...`, plus a record of the judge's peak memory when it exits
LAUNCHER = """
import atexit, runpy, sys

PEAK_FILE = sys.argv.pop(1)

def _record():
    with open("/proc/self/status") as status, open(PEAK_FILE, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM")))

atexit.register(_record)
sys.argv[0] = "grader"
runpy.run_module("grader", run_name="__main__", alter_sys=True)
"""


def grade(submission: Path, peak_file: Path) -> tuple[dict, float, float]:
    """(the JSON result, the judge's VmHWM in MiB, wall seconds)."""
    cmd = [sys.executable, "-c", LAUNCHER, str(peak_file), "check", "hw1"]
    cmd += ["--submission", str(submission), "--format", "json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"grader exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    kib = int(peak_file.read_text().split()[1])
    return json.loads(proc.stdout), kib / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="default: all")
    args = parser.parse_args()
    stub = (ROOT / "assignments" / "hw1" / "tensor_ops.py").read_text()
    print(f"machine: {os.cpu_count()} cores; goal: judge VmHWM under {GOAL_MIB:.0f} MiB")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.case or CASES:
            what, code = CASES[name]
            folder = Path(tmp) / name
            folder.mkdir()
            (folder / "tensor_ops.py").write_text(stub + "\n" + code)
            result, peak, seconds = grade(folder, Path(tmp) / f"{name}.peak")
            worst = max(worst, peak)
            checks = result["checks"]
            hostile = [c for c in checks if c["id"].startswith(f"test_{TARGET}")]
            others = [c for c in checks if c not in hostile]
            print(f"\n{name}: {what}")
            print(f"  judge VmHWM {peak:7.0f} MiB   wall {seconds:5.1f} s")
            for c in hostile:
                print(f"  {c['id']}: {c['status']}: {c['message'].splitlines()[0][:200]}")
            verdicts = sum(c["status"] in ("passed", "failed", "error") for c in checks)
            print(f"  the other {len(others)} checks: {verdicts - len(hostile)} with a verdict")
    tree = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\nworst judge VmHWM: {worst:.0f} MiB (goal < {GOAL_MIB:.0f} MiB): ", end="")
    print("met" if worst < GOAL_MIB else "NOT met")
    print(f"(largest process of any grading tree, workers included: {tree:.0f} MiB)")


if __name__ == "__main__":
    main()
