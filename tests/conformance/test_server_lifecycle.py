"""The fixture program itself: SIGTERM ends it promptly with status 0,
whatever its sessions are doing (the conformance runs start ~300 of them)."""
import os
import signal
import subprocess
import time

import pytest

from conftest import _start, _stop
from tb_proto import EioPolling, EioWebSocket


def _term_within(srv, seconds):
    t0 = time.monotonic()
    os.kill(srv.proc.pid, signal.SIGTERM)
    try:
        rc = srv.proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        _stop(srv, check=False)  # SIGKILLs it
        pytest.fail("still running %.1fs after SIGTERM" % seconds)
    assert rc == 0, "exit status %r; stderr:\n%s" % (rc, srv.stderr_tail())
    _stop(srv, check=False)
    return time.monotonic() - t0


@pytest.mark.parametrize("scene", ["idle", "ws-open", "ws-closed-by-client", "poll-held",
                                   "poll-closed-by-client"])
def test_sigterm_exits_promptly(scene):
    for _ in range(10):
        srv = _start()
        keep = []
        if scene == "ws-open":
            keep.append(EioWebSocket(srv.port).open())
        elif scene == "ws-closed-by-client":
            s = EioWebSocket(srv.port).open()
            s.send("1")
            s.expect_closed(2.0)
        elif scene == "poll-held":
            s = EioPolling(srv.port).open()
            s.start_get()
            keep.append(s)
        elif scene == "poll-closed-by-client":
            s = EioPolling(srv.port).open()
            s.post_raw("1")
        _term_within(srv, 2.0)
        for s in keep:
            s.close()
