"""Hub services end with their hub: a hub killed without its cleanup leaves none behind."""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(poll: float = 2.0) -> None:
    """End this process once the process that started it (the hub) is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent:  # re-parented: the hub died without stopping us
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-hub").start()


def main(argv: list[str]) -> int:
    """``python -m hub.orphan CMD …``: run a third-party hub service (the idle culler) so it
    too ends with the hub; signals are passed on to it."""
    import signal
    import subprocess

    child = subprocess.Popen(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    parent = os.getppid()
    while child.poll() is None:
        if os.getppid() != parent:
            child.terminate()
            return child.wait()
        time.sleep(1)
    return child.returncode


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
