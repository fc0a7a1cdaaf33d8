"""The untrusted side of the trust boundary, and the judge's handle on it.

Everything that runs in, or launches, the process that runs student code: the zygote
(`zygote`), the worker (`worker`), its confinement (`confine`, `limits`), the wire format
between judge and worker (`wire`) and the judge-side client that spawns, talks to and
kills workers (`client`).

Import contract (tests/test_layout.py): no module here imports anything from the judge
side (checks, the pytest plugin, the reference, outputs), so expected values can never be
in a worker's memory.
"""
