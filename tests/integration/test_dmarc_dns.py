"""test_dmarc_dns - DMARC policy discovery and evaluation against real DNS.

    python3 tests/integration/test_dmarc_dns.py [BUILD_DIR]

Starts knot (tests/integration/knot.py) on the zones of tests/zones, runs
BUILD_DIR/tests/dmarccheck (BUILD_DIR: argument, else $BUILD, else
"build") for every row of the "DMARC cases" table in
tests/zones/README.md and checks result, policy and disposition (and the
field the row's expect cell names). Then pauses knot (SIGSTOP) and
expects temperror with a short timeout, and the usual answer once
resumed. Prints one line per case and ends with "N passed, N failed";
exit status 0 only when every case passed. Python 3 standard library
only.
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ZONES = os.path.join(ROOT, "tests", "zones")
sys.path.insert(0, HERE)

import casetable  # noqa: E402
from knot import Knot  # noqa: E402

HEADER = ["from", "spf", "dkim", "sample", "result", "policy",
          "disposition", "expect", "meaning"]


def read_cases(readme):
    """read_cases - rows of the DMARC case table"""
    return casetable.read_cases(readme, HEADER)


def case_args(c):
    """A table row -> dmarccheck arguments."""
    args = ["-f", c["from"]]
    if c["spf"] != "-":
        domain, result = c["spf"].split()
        args += ["-m", domain, "-r", result]
    if c["dkim"] != "-":
        for sig in c["dkim"].split():
            if not sig.startswith("d="):
                raise ValueError("bad dkim cell %r" % c["dkim"])
            args += ["-d", sig[2:]]
    if c["sample"] != "-":
        args += ["-p", c["sample"]]
    return args


def run(dmarccheck, server, args, timeout_ms=1000):
    return casetable.run_tool(dmarccheck, server, args, timeout_ms)


check_expect = casetable.check_expect


def check_case(got, c):
    """'' if output matches the row, else why not."""
    for key in ("result", "policy", "disposition"):
        if got.get(key) != c[key]:
            return "%s %s, want %s" % (key, got.get(key), c[key])
    return check_expect(got, c["expect"])


def main(argv):
    build = argv[1] if len(argv) > 1 else os.environ.get("BUILD", "build")
    dmarccheck = os.path.join(build, "tests", "dmarccheck")
    if not os.path.isabs(dmarccheck):
        dmarccheck = os.path.join(ROOT, dmarccheck)
    passed = failed = 0
    if not os.access(dmarccheck, os.X_OK):
        print("FAIL setup: %s not built" % dmarccheck)
        print("0 passed, 1 failed")
        return 1
    work = tempfile.mkdtemp(prefix="test_dmarc_dns.")
    knot = Knot(ZONES, work)
    try:
        cases = read_cases(os.path.join(ZONES, "README.md"))
        if not cases:
            raise RuntimeError("no DMARC cases in tests/zones/README.md")
        knot.start()
        server = knot.server()
        for c in cases:
            args = case_args(c)
            name = " ".join(args)
            got, text = run(dmarccheck, server, args)
            why = text if got is None else check_case(got, c)
            if why:
                failed += 1
                print("FAIL %s: %s (%s)" % (name, why, text))
            else:
                passed += 1
                print("ok   %s: %s" % (name, text))

        # A From domain so long that _dmarc.<it> is over 253 octets: no
        # question for it, straight to the org record (sp=quarantine).
        longname = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 37,
                             "dmarc.test"])
        got, text = run(dmarccheck, server, ["-f", longname])
        if got is not None and got.get("result") == "fail" and \
                got.get("policy") == "quarantine" and \
                got.get("org_record") == "yes":
            passed += 1
            print("ok   long From domain (%d octets): %s" %
                  (len(longname), text))
        else:
            failed += 1
            print("FAIL long From domain: want fail, quarantine, org "
                  "record (%s)" % text)

        # The server stops answering: temporary, never a verdict.
        knot.pause()
        try:
            for args in (["-f", "relaxed.dmarc.test"],
                         ["-f", "sub.dmarc.test", "-m", "sub.dmarc.test",
                          "-r", "pass"]):
                name = "paused: " + " ".join(args)
                got, text = run(dmarccheck, server, args, timeout_ms=200)
                if got is not None and got.get("result") == "temperror" \
                        and got.get("disposition") == "none":
                    passed += 1
                    print("ok   %s: %s" % (name, text))
                else:
                    failed += 1
                    print("FAIL %s: want temperror (%s)" % (name, text))
        finally:
            knot.resume()
        got, text = run(dmarccheck, server, ["-f", "relaxed.dmarc.test"])
        if got is not None and got.get("result") == "fail" and \
                got.get("disposition") == "reject":
            passed += 1
            print("ok   resumed: %s" % text)
        else:
            failed += 1
            print("FAIL resumed: want fail, reject (%s)" % text)
    except Exception as e:  # report, count, and still stop knot
        failed += 1
        print("FAIL setup: %s" % e)
    finally:
        knot.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
