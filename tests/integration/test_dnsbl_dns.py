"""test_dnsbl_dns - DNSBL and RHSBL lookups against knot and rbldnsd.

    python3 tests/integration/test_dnsbl_dns.py [BUILD_DIR]

Starts knot (tests/integration/knot.py) on the zones of tests/zones and
runs BUILD_DIR/tests/dnsblcheck (BUILD_DIR: argument, else $BUILD, else
"build") for every row of the "DNSBL cases" table in tests/zones/README.md
against zone LIST.dnsbl.test; then a few more cases (an unserved zone, an
overlong query name, a bad map row), and with knot paused (SIGSTOP)
expects temperror, both from a short attempt timeout and from the zone's
own timeout. Then starts a real rbldnsd (/usr/sbin/rbldnsd, in the
foreground, as user rbldns, on 127.0.0.1 and a free port) serving the
same lists from data files written here as zones LIST.test, and runs the
rows marked for it again. Prints one line per case and ends with
"N passed, N failed"; exit status 0 only when every case passed. Every
process started is stopped, even on failure. Python 3 standard library
only.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ZONES = os.path.join(ROOT, "tests", "zones")
sys.path.insert(0, HERE)

import casetable  # noqa: E402
from knot import Knot  # noqa: E402

HEADER = ["list", "kind", "value", "status", "action", "expect", "rbldnsd",
          "meaning"]

# The maps of the README's table, as dnsblcheck -m rows.
MAPS = {
    "bl": ["127.0.0.2=spam source:reject",
           "127.0.0.4-127.0.0.7=dynamic range:tag",
           "127.0.0.10=policy:5"],
    "dbl": ["127.0.1.2=spam domain:reject", "any=dbl other:tag"],
    "multi": ["&0.0.0.8=phishing:reject", "&16=malware:quarantine",
              "&0x40=abuse:tag"],
}
MAPS["temp"] = MAPS["bl"]

RBLDNSD = "/usr/sbin/rbldnsd"
RBLDNSD_USER = "rbldns"
SOA = "$SOA 300 ns.test. hostmaster.test. 1 3600 600 86400 60\n"

# rbldnsd data: the lists of tests/zones/dnsbl.test.zone, rbldnsd style.
# "$" in a TXT template is the address asked.
RBLDNSD_FILES = {
    "bl4": SOA + """\
127.0.0.2 :127.0.0.2:RFC 5782 test entry
192.0.2.99 :127.0.0.2:Listed: see https://dnsbl.test/lookup?ip=$
192.0.2.98 :127.0.0.4:dynamic range
192.0.2.97 :127.0.0.2:
192.0.2.96 :127.255.255.254:
192.0.2.95 :10.0.0.1:
192.0.2.94 :127.0.0.3:
192.0.2.93 :127.0.0.6:
""",
    # a second ip4set of the same zone: 192.0.2.97 gets two A records
    "bl4b": """\
192.0.2.97 :127.0.0.10:
""",
    "bl6": """\
2001:db8::99 :127.0.0.2:
""",
    "dbl": SOA + """\
test :127.0.1.2:
spam.example.test :127.0.1.2:spam domain
other.example.test :127.0.1.5:
refused.example.test :127.255.255.252:
""",
    "multi": SOA + """\
phish.example.test :127.0.0.8:
both.example.test :127.0.0.80:
abuse.example.test :127.0.0.64:
other.example.test :127.0.0.2:
""",
}
RBLDNSD_ZONES = ["bl.test:ip4set:bl4,bl4b", "bl.test:ip6trie:bl6",
                 "dbl.test:dnset:dbl", "multi.test:dnset:multi"]


class Counter:
    """Counter - passed and failed cases, one line each"""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name, text):
        self.passed += 1
        print("ok   %s: %s" % (name, text), flush=True)

    def fail(self, name, why, text=""):
        self.failed += 1
        print("FAIL %s: %s%s" % (name, why, " (%s)" % text if text else ""),
              flush=True)


def map_args(lst):
    args = []
    for row in MAPS.get(lst, []):
        args += ["-m", row]
    return args


def case_args(c, zone_suffix):
    lst = c["list"]
    return (["-z", "%s.%s" % (lst, zone_suffix), "-k", c["kind"]] +
            map_args(lst) + [c["value"].strip("`")])


def check_case(got, c):
    """check_case - '' if the output fits the row, else why not"""
    if got.get("status") != c["status"]:
        return "status %s, want %s" % (got.get("status"), c["status"])
    if c["action"] != "-" and got.get("action") != c["action"]:
        return "action %s, want %s" % (got.get("action"), c["action"])
    return casetable.check_expect(got, c["expect"])


def run_cases(tool, server, cases, zone_suffix, label, count):
    for c in cases:
        args = case_args(c, zone_suffix)
        name = "%s %s.%s %s %s" % (label, c["list"], zone_suffix, c["kind"],
                                   c["value"])
        got, text = casetable.run_tool(tool, server, args)
        why = text if got is None else check_case(got, c)
        if why:
            count.fail(name, why, text if got is not None else "")
        else:
            count.ok(name, text)


def expect_status(tool, server, count, name, args, status, timeout_ms=1000,
                  contains=None):
    got, text = casetable.run_tool(tool, server, args, timeout_ms)
    if got is None:
        count.fail(name, text)
    elif got.get("status") != status:
        count.fail(name, "status %s, want %s" % (got.get("status"), status),
                   text)
    elif contains is not None and \
            contains.lower() not in got.get("reason", "").lower():
        count.fail(name, "reason lacks %r" % contains, text)
    else:
        count.ok(name, text)


def knot_extras(tool, knot, count):
    server = knot.server()
    expect_status(tool, server, count, "unserved zone",
                  ["-z", "bl.unserved.invalid", "-k", "ip", "192.0.2.99"],
                  "temperror", contains="REFUSED")
    long_domain = ".".join(["a" * 60] * 4)  # 243 octets: + zone > 253
    expect_status(tool, server, count, "query name over 253 octets",
                  ["-z", "dbl.dnsbl.test", "-k", "domain", long_domain],
                  "not_listed", contains="over 253")
    expect_status(tool, server, count, "no map: any 127/8 code",
                  ["-z", "bl.dnsbl.test", "-k", "ip", "192.0.2.94"],
                  "listed")
    # A bad map row is a usage error naming the row.
    p = subprocess.run([tool, "-s", server, "-z", "bl.dnsbl.test", "-k",
                        "ip", "-m", "10.0.0.1=x:reject", "192.0.2.99"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, check=False)
    err = p.stderr.decode("utf-8", "replace").strip()
    if p.returncode == 64 and "127.0.0.0/8" in err:
        count.ok("bad map row", err)
    else:
        count.fail("bad map row", "exit %d, want 64" % p.returncode, err)

    # The server stops answering: temporary, never a listing.
    knot.pause()
    try:
        listed = ["-z", "bl.dnsbl.test", "-k", "ip"] + map_args("bl") + \
            ["192.0.2.99"]
        expect_status(tool, server, count, "paused: short attempt timeout",
                      listed, "temperror", timeout_ms=200)
        expect_status(tool, server, count, "paused: zone timeout",
                      ["-Z", "300"] + listed, "temperror", timeout_ms=5000,
                      contains="zone timeout")
        expect_status(tool, server, count, "paused: RHSBL",
                      ["-z", "dbl.dnsbl.test", "-k", "domain"] +
                      map_args("dbl") + ["spam.example.test"],
                      "temperror", timeout_ms=200)
    finally:
        knot.resume()
    expect_status(tool, server, count, "resumed",
                  ["-z", "bl.dnsbl.test", "-k", "ip"] + map_args("bl") +
                  ["192.0.2.99"], "listed")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rbldnsd_answers(port, timeout=10.0):
    """rbldnsd_answers - True once the RFC 5782 test entry answers"""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            r = subprocess.run(
                ["kdig", "@127.0.0.1", "-p", str(port), "+short",
                 "+timeout=1", "+retry=0", "2.0.0.127.bl.test", "A"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                timeout=5, check=False)
            if b"127.0.0.2" in r.stdout:
                return True
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.1)
    return False


class Rbldnsd:
    """Rbldnsd - one rbldnsd in the foreground, our child"""

    def __init__(self, work):
        self.work = work
        self.proc = None
        self.port = None
        self.log_path = os.path.join(work, "rbldnsd.log")

    def start(self):
        os.chmod(self.work, 0o755)  # rbldnsd reads as user rbldns
        for name, text in RBLDNSD_FILES.items():
            path = os.path.join(self.work, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
        last = ""
        for _ in range(5):
            self.port = free_udp_port()
            cmd = [RBLDNSD, "-n", "-b", "127.0.0.1/%d" % self.port,
                   "-w", self.work, "-t", "60"]
            if os.getuid() == 0:
                cmd += ["-u", RBLDNSD_USER]  # it refuses to run as root
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd + RBLDNSD_ZONES,
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
            log.close()
            if rbldnsd_answers(self.port):
                return
            last = ("exited %s" % self.proc.poll()
                    if self.proc.poll() is not None else "no answer")
            self.stop()
        with open(self.log_path, "rb") as f:
            tail = f.read()[-600:].decode("utf-8", "replace")
        raise RuntimeError("rbldnsd did not start (%s): %s" % (last, tail))

    def stop(self):
        p = self.proc
        self.proc = None
        if p is None or p.poll() is not None:
            return
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        except ProcessLookupError:
            pass

    def server(self):
        return "127.0.0.1@%d" % self.port


def main(argv):
    build = argv[1] if len(argv) > 1 else os.environ.get("BUILD", "build")
    tool = os.path.join(build, "tests", "dnsblcheck")
    if not os.path.isabs(tool):
        tool = os.path.join(ROOT, tool)
    count = Counter()
    if not os.access(tool, os.X_OK):
        print("FAIL setup: %s not built" % tool)
        print("0 passed, 1 failed")
        return 1
    cases = casetable.read_cases(os.path.join(ZONES, "README.md"), HEADER)
    work = tempfile.mkdtemp(prefix="test_dnsbl_dns.")
    knot = Knot(ZONES, os.path.join(work, "knot"))
    rbl = Rbldnsd(os.path.join(work, "rbldnsd"))
    os.makedirs(rbl.work)
    try:
        if not cases:
            count.fail("setup", "no DNSBL cases in tests/zones/README.md")
        knot.start()
        run_cases(tool, knot.server(), cases, "dnsbl.test", "knot", count)
        knot_extras(tool, knot, count)
        knot.stop()

        rbl.start()
        run_cases(tool, rbl.server(),
                  [c for c in cases if c["rbldnsd"] == "yes"], "test",
                  "rbldnsd", count)
        expect_status(tool, rbl.server(), count, "rbldnsd: zone not served",
                      ["-z", "nothere.test", "-k", "ip", "192.0.2.99"],
                      "temperror")
    except Exception as e:  # report, count, and still stop the servers
        count.fail("setup", str(e))
    finally:
        rbl.stop()
        knot.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (count.passed, count.failed))
    return 0 if count.failed == 0 and count.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
