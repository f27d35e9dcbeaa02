"""A toy claim whose instances take a little time, for the sweep tests (kill -9, resume, locks).

``toy.sleepy``: :data:`N_INSTANCES` instances, each sleeping :data:`SLEEP` seconds and drawing
one number from its generator. When ``NETMARL_VERIFY_TEST_LOG`` names a file, every
measurement appends ``<instance> <pid>`` to it (one ``O_APPEND`` write), so a test can count how
often each instance was computed. Loaded by ``NETMARL_VERIFY_EXTRA_CLAIMS=_sleepy_claims:register``.
"""

import os
import time

from netmarl_verify.verify import Claim, Instance, Measurement

N_INSTANCES = 12
SLEEP = 0.25
LOG_ENV = "NETMARL_VERIFY_TEST_LOG"


def sleepy_instances(quick, seed):
    for k in range(N_INSTANCES):
        yield Instance(name=f"k={k}", params={"k": k}, size=k + 1)


def sleepy_measure(instance, rng, quick):
    time.sleep(SLEEP)
    log = os.environ.get(LOG_ENV)
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{instance.name} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
    u = float(rng.random())
    return Measurement(measured=u, bound=1.0, values={"u": u}, point={"k": instance.params["k"]})


def make_claim():
    return Claim(id="toy.sleepy", paper_file="toy.txt", source="-", statement="u ~ U(0, 1) is at most 1.",
                 instances=sleepy_instances, measure=sleepy_measure)


def register(registry):
    """Register ``toy.sleepy`` into `registry`."""
    registry.register(make_claim())
