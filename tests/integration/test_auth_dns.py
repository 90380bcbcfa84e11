"""test_auth_dns - SPF and iprev against a real DNS server.

    python3 tests/integration/test_auth_dns.py [BUILD_DIR]

Starts knot (tests/integration/knot.py) on the zones of tests/zones, runs
BUILD_DIR/tests/authcheck (BUILD_DIR: argument, else $BUILD, else
"build") for every row of the case table in tests/zones/README.md and
checks the result (and reason, explanation or name where the row says).
Then pauses knot (SIGSTOP) and expects temperror with a short timeout.
Prints one line per case and ends with "N passed, N failed"; exit status
0 only when every case passed. Python 3 standard library only.
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

AUTH_HEADER = ["check", "ip", "helo", "mail from", "result", "expect",
               "meaning"]


def read_cases(readme):
    """read_cases - rows of the SPF and iprev case table"""
    return casetable.read_cases(readme, AUTH_HEADER)


def field(v):
    """Table cell -> argument: '-' is empty, '<>' the null sender."""
    v = v.strip("`")
    if v in ("-", "<>"):
        return ""
    return v


def run(authcheck, server, args, timeout_ms=1000):
    return casetable.run_tool(authcheck, server, args, timeout_ms)


def case_args(c):
    check = c["check"]
    ip, helo, mf = field(c["ip"]), field(c["helo"]), field(c["mail from"])
    if check == "spf":
        return ["spf", ip, helo, mf]
    if check == "helo":
        return ["helo", ip, helo]
    return ["iprev", ip]


check_expect = casetable.check_expect


def main(argv):
    build = argv[1] if len(argv) > 1 else os.environ.get("BUILD", "build")
    authcheck = os.path.join(build, "tests", "authcheck")
    if not os.path.isabs(authcheck):
        authcheck = os.path.join(ROOT, authcheck)
    passed = failed = 0
    if not os.access(authcheck, os.X_OK):
        print("FAIL setup: %s not built" % authcheck)
        print("0 passed, 1 failed")
        return 1
    cases = read_cases(os.path.join(ZONES, "README.md"))
    work = tempfile.mkdtemp(prefix="test_auth_dns.")
    knot = Knot(ZONES, work)
    try:
        knot.start()
        server = knot.server()
        for c in cases:
            args = case_args(c)
            name = " ".join(a if a else "''" for a in args)
            got, text = run(authcheck, server, args)
            why = ""
            if got is None:
                why = text
            elif got.get("result") != c["result"]:
                why = "result %s, want %s" % (got.get("result"),
                                              c["result"])
            else:
                why = check_expect(got, c["expect"])
            if why:
                failed += 1
                print("FAIL %s: %s (%s)" % (name, why, text))
            else:
                passed += 1
                print("ok   %s: %s" % (name, text))

        # The server stops answering mid-test: temporary, never final.
        knot.pause()
        try:
            for args in (["spf", "192.0.2.10", "mx.client.test",
                          "user@pass.spf.test"],
                         ["helo", "192.0.2.10", "pass.spf.test"],
                         ["iprev", "192.0.2.10"]):
                name = "paused: " + " ".join(args)
                got, text = run(authcheck, server, args, timeout_ms=200)
                if got is not None and got.get("result") == "temperror":
                    passed += 1
                    print("ok   %s: %s" % (name, text))
                else:
                    failed += 1
                    print("FAIL %s: want temperror (%s)" % (name, text))
        finally:
            knot.resume()
        # Answers again once resumed.
        got, text = run(authcheck, server,
                        ["spf", "192.0.2.10", "h.test", "u@pass.spf.test"])
        if got is not None and got.get("result") == "pass":
            passed += 1
            print("ok   resumed: %s" % text)
        else:
            failed += 1
            print("FAIL resumed: want pass (%s)" % text)
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
