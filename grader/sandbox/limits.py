"""Resource limits of one worker: the `[limits]` table of assignment.toml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker (the `[limits]` table of assignment.toml)."""

    call_timeout_s: float = 10.0  # wall-clock seconds one request may take (judge's clock)
    import_timeout_s: float = 10.0  # wall-clock seconds for importing the submission
    memory_mib: int = 3072  # address space; torch needs ~768 MiB just to import
    cpu_s: int = 600  # CPU seconds over the worker's whole life
    file_mib: int = 64  # largest file the worker may write
    open_files: int = 256
    processes: int = 64  # processes the worker's user may own
    output_kib: int = 64  # captured stdout+stderr kept for the report
    work_mib: int = 256  # the worker's writable folder (a tmpfs: memory, beyond memory_mib)
    reply_mib: int = 512  # bytes the judge reads back from one request (tensors included)
    reply_objects: int = 1_000_000  # values the judge decodes from one request's reply

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Limits:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
