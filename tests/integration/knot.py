"""knot - run a real authoritative DNS server (Knot DNS) for tests.

    from knot import Knot
    with Knot("tests/zones", "/tmp/work") as k:
        port = k.port          # 127.0.0.1@port (and ::1@port if usable)
        k.pause(); k.resume()  # SIGSTOP / SIGCONT: make it stop answering

Every ZONE.zone file in zone_dir is served as zone ZONE. knotd runs in the
foreground as our child; stop() ends it, and an atexit hook stops any
server a test forgot, even when the test fails. Run as a script it serves
the zones and prints the port until interrupted:

    python3 tests/integration/knot.py [zone_dir [work_dir]]

Python 3 standard library only.
"""

import atexit
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

_RUNNING = set()


def _stop_all():
    for k in list(_RUNNING):
        k.stop()


atexit.register(_stop_all)


def _on_sigterm(signum, frame):
    """SIGTERM (e.g. from timeout(1)): unwind so finally/atexit run."""
    raise SystemExit(128 + signum)


def _die_with_parent():
    """In the child: get SIGTERM when the test process dies (Linux)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _ipv6_loopback():
    """True if ::1 can be bound (the kernel may have IPv6 disabled)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _free_port(v6):
    """A port free for UDP and TCP on 127.0.0.1 (and ::1), or None."""
    socks = []
    try:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(t)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        for fam, typ, addr in ((socket.AF_INET, socket.SOCK_DGRAM,
                                "127.0.0.1"),
                               (socket.AF_INET6, socket.SOCK_STREAM, "::1"),
                               (socket.AF_INET6, socket.SOCK_DGRAM, "::1")):
            if fam == socket.AF_INET6 and not v6:
                continue
            s = socket.socket(fam, typ)
            socks.append(s)
            s.bind((addr, port))
        return port
    except OSError:
        return None
    finally:
        for s in socks:
            s.close()


class Knot:
    """One knotd serving every *.zone file of zone_dir."""

    def __init__(self, zone_dir, work_dir, knotd="knotd", kdig="kdig"):
        self.zone_dir = os.path.abspath(zone_dir)
        self.work_dir = os.path.abspath(work_dir)
        self.knotd = knotd
        self.kdig = kdig
        self.port = None
        self.proc = None
        self.zones = sorted(
            os.path.basename(f)[:-len(".zone")]
            for f in glob.glob(os.path.join(self.zone_dir, "*.zone")))
        self.v6 = _ipv6_loopback()
        self.log_path = os.path.join(self.work_dir, "knotd.log")

    def _write_conf(self):
        listen = ["127.0.0.1@%d" % self.port]
        if self.v6:
            listen.append("::1@%d" % self.port)
        try:
            import pwd
            import grp
            user = "%s:%s" % (pwd.getpwuid(os.getuid()).pw_name,
                              grp.getgrgid(os.getgid()).gr_name)
        except (ImportError, KeyError):
            user = None
        storage = os.path.join(self.work_dir, "storage")
        os.makedirs(storage, exist_ok=True)
        lines = [
            "server:",
            '    rundir: "%s"' % self.work_dir,
            "    listen: [ %s ]" % ", ".join(listen),
            "    background-workers: 1",
            "    udp-workers: 2",
            "    tcp-workers: 2",
        ]
        if user is not None:
            lines.append("    user: %s" % user)
        lines += [
            "database:",
            '    storage: "%s"' % storage,
            "log:",
            "  - target: stderr",
            "    any: info",
            "template:",
            "  - id: default",
            '    storage: "%s"' % self.zone_dir,
            '    file: "%s.zone"',
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "    journal-content: none",
            "zone:",
        ]
        for z in self.zones:
            lines.append("  - domain: %s" % z)
        path = os.path.join(self.work_dir, "knot.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _answers(self, zone):
        try:
            r = subprocess.run(
                [self.kdig, "@127.0.0.1", "-p", str(self.port), "+short",
                 "+timeout=1", "+retry=0", zone, "SOA"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                timeout=5, check=False)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0 and r.stdout.strip() != b""

    def start(self, timeout=20.0):
        """Start knotd; return the port once every zone answers."""
        if self.proc is not None:
            return self.port
        if not self.zones:
            raise RuntimeError("no *.zone files in %s" % self.zone_dir)
        os.makedirs(self.work_dir, exist_ok=True)
        if (threading.current_thread() is threading.main_thread() and
                signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
            signal.signal(signal.SIGTERM, _on_sigterm)
        last = "no free port"
        for _ in range(10):
            self.port = _free_port(self.v6)
            if self.port is None:
                continue
            conf = self._write_conf()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.knotd, "-c", conf], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
            log.close()
            _RUNNING.add(self)
            end = time.monotonic() + timeout
            pending = list(self.zones)
            while time.monotonic() < end and self.proc.poll() is None:
                pending = [z for z in pending if not self._answers(z)]
                if not pending:
                    return self.port
                time.sleep(0.1)
            last = ("knotd exited %s" % self.proc.returncode
                    if self.proc.poll() is not None
                    else "zones not served: %s" % " ".join(pending))
            self.stop()
            # A port taken meanwhile: try another one.
        raise RuntimeError("knotd did not start (%s); see %s" %
                           (last, self.log_path))

    def stop(self):
        """Stop knotd (SIGTERM, then SIGKILL); safe to call twice."""
        p = self.proc
        if p is None:
            return
        self.proc = None
        _RUNNING.discard(self)
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGCONT)  # a paused knotd cannot exit
                p.terminate()
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass

    def pause(self):
        """SIGSTOP: the server keeps its sockets but stops answering."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        """SIGCONT: answer again."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)

    def server(self):
        """The server as "ADDR@PORT" for resolver options."""
        return "127.0.0.1@%d" % self.port

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    zone_dir = argv[1] if len(argv) > 1 else os.path.join(here, "..", "zones")
    tmp = None
    if len(argv) > 2:
        work_dir = argv[2]
    else:
        tmp = work_dir = tempfile.mkdtemp(prefix="knot.")
    k = Knot(zone_dir, work_dir)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        port = k.start()
        print(port, flush=True)
        print("knotd serving %s on 127.0.0.1@%d%s; Ctrl-C stops it" %
              (" ".join(k.zones), port, " and ::1" if k.v6 else ""),
              file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        k.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
