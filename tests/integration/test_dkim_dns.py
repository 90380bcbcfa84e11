"""test_dkim_dns - DKIM verification and signing against a real DNS server.

    python3 tests/integration/test_dkim_dns.py [BUILD_DIR]

Starts knot (tests/integration/knot.py) on the zones of tests/zones (keys
in dkim.test, see tests/zones/README.md), signs test messages at run time
with the independent signer of python3-dkim (/usr/bin/dkimsign, and
tests/integration/dkim_py.py for l=, t= and x=, both run with Debian's
/usr/bin/python3), alters some, and runs BUILD_DIR/tests/dkimcheck verify
on each (BUILD_DIR: argument, else $BUILD, else "build"). Then signs with
dkimcheck sign (our dkimsign: rsa-sha256 through libopendkim, ed25519-sha256
made by dkimsign itself, its body also fed in 1- and 7-byte chunks) and
checks the result with python3-dkim's verifier and with ours (libopendkim),
compares bh= and h= of the two algorithms on the same message (SIGN_CASES:
trailing WSP, WSP runs, empty lines at the end, no body, repeated and
folded fields), and checks that altered copies are refused. Pauses knot
(SIGSTOP) for the DNS-down case.
Prints one line per case and ends with "N passed, N failed"; exit status
0 only when every case passed. Python 3 standard library only (the
helpers run under /usr/bin/python3).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ZONES = os.path.join(ROOT, "tests", "zones")
KEYS = os.path.join(ROOT, "tests", "keys")
PY = "/usr/bin/python3"  # Debian's, with python3-dkim and python3-nacl
DKIMSIGN = "/usr/bin/dkimsign"
DKIM_PY = os.path.join(HERE, "dkim_py.py")
sys.path.insert(0, HERE)

from knot import Knot  # noqa: E402

FIELD_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')

MESSAGE = (b"From: Alice <alice@dkim.test>\n"
           b"To: Bob <bob@example.test>\n"
           b"Subject: a test message\n"
           b" folded onto a second line\n"
           b"Date: Sat, 01 Jan 2022 00:00:00 +0000\n"
           b"Message-ID: <1@dkim.test>\n"
           b"MIME-Version: 1.0\n"
           b"Content-Type: text/plain\n"
           b"\n"
           b"Hello world.\n"
           b"  Indented line with trailing blanks   \n"
           b"\n"
           b"Last line.\n")
# A body with canonicalization edges, and an empty one.
ENDS = MESSAGE.split(b"\n\n", 1)[0] + (b"\n\n"
                                       b" lead\n"
                                       b"a  b\t\tc   \n"
                                       b"\n"
                                       b"\t \n"
                                       b"end\t\n"
                                       b"\n"
                                       b"  \n"
                                       b"\n")
EMPTY = MESSAGE.split(b"\n\n", 1)[0] + b"\n\n"


class Failed(Exception):
    """Failed - a helper did not run as it should"""


def key(name):
    return os.path.join(KEYS, name)


def dkimsign(msg, selector, keyfile, hcanon="relaxed", bcanon="relaxed",
             alg="rsa-sha256", identity=None, domain="dkim.test"):
    """Sign with /usr/bin/dkimsign (python3-dkim)."""
    cmd = [PY, DKIMSIGN, selector, domain, keyfile, "--hcanon", hcanon,
           "--bcanon", bcanon, "--signalg", alg]
    if identity:
        cmd += ["--identity", identity]
    p = subprocess.run(cmd, input=msg, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, check=False)
    if p.returncode != 0 or not p.stdout.startswith(b"DKIM-Signature:"):
        raise Failed("dkimsign %s: %s" % (selector, p.stderr.decode()))
    return p.stdout


def pysign(msg, selector, keyfile, *opts):
    """Sign with dkim_py.py (python3-dkim) for l=, t=, x=."""
    p = subprocess.run([PY, DKIM_PY, "sign", selector, "dkim.test",
                        keyfile] + list(opts), input=msg,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, check=False)
    if p.returncode != 0 or not p.stdout.startswith(b"DKIM-Signature:"):
        raise Failed("dkim_py sign %s: %s" % (selector, p.stderr.decode()))
    return p.stdout


def sig_edit(msg, old, new, index=0, regex=False):
    """Replace text inside the index-th DKIM-Signature field (unfolded);
    with regex, old is a pattern."""
    head, sep, body = msg.partition(b"\n\n")
    lines = head.split(b"\n")
    fields, cur = [], None
    for line in lines:
        if line[:1] in (b" ", b"\t") and cur is not None:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
            cur = line
    n = -1
    for i, f in enumerate(fields):
        if f.lower().startswith(b"dkim-signature:"):
            n += 1
            if n == index:
                flat = re.sub(rb"\n[ \t]+", b" ", f)
                if regex:
                    fields[i], k = re.subn(old, new, flat, count=1)
                    if k == 0:
                        raise Failed("%r not in %r" % (old, flat[:200]))
                    break
                if old not in flat:
                    raise Failed("%r not in %r" % (old, flat[:200]))
                fields[i] = flat.replace(old, new, 1)
                break
    else:
        raise Failed("no DKIM-Signature #%d" % index)
    return b"\n".join(fields) + sep + body


def parse(text):
    """dkimcheck verify output -> (list of dicts, ignored count)."""
    sigs, ignored = [], 0
    for line in text.splitlines():
        if line.startswith("ignored="):
            ignored = int(line.split("=", 1)[1])
            continue
        d = {}
        for k, v in FIELD_RE.findall(line):
            d[k] = v[1:-1] if v.startswith('"') else v
        sigs.append(d)
    return sigs, ignored


class Env:
    """Env - paths and the running server for one run"""

    def __init__(self, dkimcheck, work, knot):
        self.dkimcheck = dkimcheck
        self.work = work
        self.knot = knot
        self.n = 0

    def write(self, msg):
        self.n += 1
        path = os.path.join(self.work, "msg%03d" % self.n)
        with open(path, "wb") as f:
            f.write(msg)
        return path

    def verify(self, msg, timeout_ms=1000, max_sigs=None):
        cmd = [self.dkimcheck, "-s", self.knot.server(), "-t",
               str(timeout_ms)]
        if max_sigs is not None:
            cmd += ["-m", str(max_sigs)]
        cmd += ["verify", self.write(msg)]
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120, check=False)
        text = p.stdout.decode("utf-8", "replace").strip()
        if p.returncode != 0:
            raise Failed("dkimcheck exit %d: %s %s" % (
                p.returncode, text, p.stderr.decode("utf-8", "replace")))
        return text

    def sign(self, msg, table, chunk=None):
        cmd = [self.dkimcheck, "-k", table]
        if chunk is not None:
            cmd += ["-c", str(chunk)]
        p = subprocess.run(cmd + ["sign", self.write(msg)],
                           stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, check=False)
        if p.returncode != 0:
            raise Failed("dkimcheck sign exit %d: %s" % (
                p.returncode, p.stderr.decode("utf-8", "replace")))
        return p.stdout

    def pyverify(self, msg):
        p = subprocess.run([PY, DKIM_PY, "verify", str(self.knot.port),
                            self.write(msg)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, check=False)
        return p.stdout.decode().strip() or p.stderr.decode().strip()


def expect(text, want, ignored=0):
    """'' if the verify output matches want: [(result, selector, reason)]."""
    sigs, got_ignored = parse(text)
    if want == []:
        if len(sigs) == 1 and sigs[0].get("result") == "none":
            return ""
        return "want no signature"
    if len(sigs) != len(want):
        return "%d signatures, want %d" % (len(sigs), len(want))
    for i, (result, sel, reason) in enumerate(want):
        s = sigs[i]
        results = result.split("|")
        if s.get("result") not in results:
            return "#%d: result %s, want %s" % (i, s.get("result"), result)
        if sel is not None and s.get("s") != sel:
            return "#%d: s=%s, want %s" % (i, s.get("s"), sel)
        if reason and reason.lower() not in s.get("reason", "").lower():
            return "#%d: reason %r, want %r" % (i, s.get("reason"), reason)
    if got_ignored != ignored:
        return "ignored=%d, want %d" % (got_ignored, ignored)
    return ""


HEAD = (b"From: Alice <alice@dkim.test>\n"
        b"To: Bob <bob@example.test>\n"
        b"Subject: signing test\n"
        b"Date: Sat, 01 Jan 2022 00:00:00 +0000\n"
        b"Message-ID: <2@dkim.test>\n")

# Messages for our signer (dkimcheck sign): what relaxed/relaxed must get
# right (RFC 6376 3.4.2, 3.4.4, 5.4.2). (name, message, signed by RSA too)
SIGN_CASES = [
    ("trailing WSP", HEAD + b"\nline one   \nline two\t\n \t\nend \n", True),
    ("WSP runs", HEAD + b"\na  b\t\tc \t d\n   indented\n\tx\n", True),
    ("empty lines at the end", HEAD + b"\ntext\n\n\n\n", True),
    ("empty lines inside", HEAD + b"\na\n\n\n\nb\n", True),
    ("only empty lines", HEAD + b"\n\n\n\n", True),
    ("no body", HEAD + b"\n", True),
    ("no body, no blank line", HEAD, True),
    ("repeated headers",
     b"Received: from a.example.test by b.example.test\n"
     b"Received: from c.example.test by d.example.test\n"
     b"To: first@example.test\n" + HEAD +
     b"To: second@example.test,\n\tthird@example.test\n"
     b"List-Id: <list.example.test>\n\nbody\n", True),
    ("folded Subject",
     HEAD.replace(b"Subject: signing test",
                  b"Subject:   a   folded\n\t subject  \n   line  ") +
     b"\nbody\n", True),
    # libopendkim refuses to sign it ("CRLF at end of body missing");
    # SMTP never delivers one: RFC 6376 3.4.4 adds the CRLF
    ("no newline at the end", HEAD + b"\nlast line", False),
]


def tag(msg, name):
    """A tag of the first DKIM-Signature, FWS removed."""
    head = msg.split(b"\n\n", 1)[0]
    m = re.search(rb"^DKIM-Signature:(.*?)\n(?![ \t])", head + b"\n",
                  re.M | re.S)
    flat = re.sub(rb"\s+", b"", m.group(1)) if m else b""
    for t in flat.split(b";"):
        if t.startswith(name + b"="):
            return t[len(name) + 1:].decode()
    return None


def build_cases():
    """(name, message maker, want, extra verify args) for each case."""
    m = MESSAGE
    rsa2048 = key("rsa2048.pem")
    rsa1024 = key("rsa1024.pem")
    seed = key("ed25519.seed")
    now = int(time.time())

    def signed():
        return dkimsign(m, "rsa2048", rsa2048)

    cases = [
        # what verifies
        ("rsa-sha256 2048 relaxed/relaxed",
         lambda: dkimsign(m, "rsa2048", rsa2048),
         [("pass", "rsa2048", "")]),
        ("rsa-sha256 2048 simple/simple",
         lambda: dkimsign(m, "rsa2048", rsa2048, "simple", "simple"),
         [("pass", "rsa2048", "")]),
        ("rsa-sha256 1024 relaxed/simple",
         lambda: dkimsign(m, "rsa1024", rsa1024, "relaxed", "simple"),
         [("pass", "rsa1024", "")]),
        ("rsa-sha256 1024 simple/relaxed",
         lambda: dkimsign(m, "rsa1024", rsa1024, "simple", "relaxed"),
         [("pass", "rsa1024", "")]),
        ("ed25519-sha256 relaxed/relaxed",
         lambda: dkimsign(m, "ed25519", seed, alg="ed25519-sha256"),
         [("pass", "ed25519", "")]),
        ("ed25519-sha256 simple/simple",
         lambda: dkimsign(m, "ed25519", seed, "simple", "simple",
                          alg="ed25519-sha256"),
         [("pass", "ed25519", "")]),
        ("i= identity",
         lambda: dkimsign(m, "rsa2048", rsa2048,
                          identity="alice@sub.dkim.test"),
         [("pass", "rsa2048", "")]),
        ("key as second TXT record (RFC 6376 3.6.2.2)",
         lambda: dkimsign(m, "multi", rsa2048),
         [("pass", "multi", "")]),
        ("CRLF message",
         lambda: dkimsign(m.replace(b"\n", b"\r\n"), "rsa2048", rsa2048,
                          "simple", "simple"),
         [("pass", "rsa2048", "")]),
        # body canonicalization edges: WSP runs, WSP-only and empty
        # lines at the end; relaxed forgives changed WSP, simple does not
        ("body edges simple/simple",
         lambda: dkimsign(ENDS, "rsa2048", rsa2048, "simple", "simple"),
         [("pass", "rsa2048", "")]),
        ("body edges relaxed/relaxed",
         lambda: dkimsign(ENDS, "rsa2048", rsa2048),
         [("pass", "rsa2048", "")]),
        ("body edges relaxed, WSP changed and lines added at the end",
         lambda: dkimsign(ENDS, "rsa2048", rsa2048).replace(
             b"a  b\t\tc", b"a\tb c") + b"\n \n\n",
         [("pass", "rsa2048", "")]),
        ("body edges simple, WSP changed",
         lambda: dkimsign(ENDS, "rsa2048", rsa2048, "simple",
                          "simple").replace(b"a  b\t\tc", b"a\tb c"),
         [("fail", "rsa2048", "body hash")]),
        ("body edges simple, empty lines added at the end",
         lambda: dkimsign(ENDS, "rsa2048", rsa2048, "simple",
                          "simple") + b"\n\n",
         [("pass", "rsa2048", "")]),
        ("empty body, simple and relaxed signatures",
         lambda: dkimsign(dkimsign(EMPTY, "rsa2048", rsa2048, "simple",
                                   "simple"), "rsa1024", rsa1024),
         [("pass", "rsa1024", ""), ("pass", "rsa2048", "")]),
        ("l= then appended body: pass, noted",
         lambda: pysign(m, "rsa2048", rsa2048, "--length") +
         b"Appended by a list.\n",
         [("pass", "rsa2048", "l=")]),
        ("x= in the future",
         lambda: pysign(m, "rsa2048", rsa2048, "--t", str(now),
                        "--x", str(now + 86400)),
         [("pass", "rsa2048", "")]),
        ("no signature", lambda: m, []),
        # what fails
        ("changed body byte",
         lambda: signed().replace(b"Hello world", b"Hello World"),
         [("fail", "rsa2048", "body hash mismatch")]),
        ("changed signed header",
         lambda: signed().replace(b"Subject: a test", b"Subject: A test"),
         [("fail", "rsa2048", "bad signature")]),
        ("ed25519 changed signed header",
         lambda: dkimsign(m, "ed25519", seed, alg="ed25519-sha256")
         .replace(b"To: Bob", b"To: Rob"),
         [("fail", "ed25519", "bad signature")]),
        ("added From (oversigned by python3-dkim)",
         lambda: signed().replace(b"From: Alice",
                                  b"From: Mallory <m@evil.test>\nFrom: Alice"),
         [("fail|permerror", "rsa2048", "")]),
        ("signed with another key",
         lambda: dkimsign(m, "rsa1024", rsa2048),
         [("fail", "rsa1024", "bad signature")]),
        # what cannot be verified
        ("x= expired",
         lambda: pysign(m, "rsa2048", rsa2048, "--t", str(now - 86400),
                        "--x", str(now - 3600)),
         [("permerror", "rsa2048", "signature expired")]),
        ("t= far in the future",
         lambda: pysign(m, "rsa2048", rsa2048, "--t", str(now + 86400 * 30)),
         [("permerror", "rsa2048", "future")]),
        ("revoked key (p= empty)",
         lambda: dkimsign(m, "revoked", rsa2048),
         [("permerror", "revoked", "key revoked")]),
        ("missing key (NXDOMAIN)",
         lambda: dkimsign(m, "missing", rsa2048),
         [("permerror", "missing", "no key")]),
        ("no TXT at the key name (NODATA)",
         lambda: dkimsign(m, "nodata", rsa2048),
         [("permerror", "nodata", "no key")]),
        ("key lookup REFUSED (temperror)",
         lambda: dkimsign(m, "tempfail", rsa2048),
         [("temperror", "tempfail", "DNS error")]),
        ("rsa-sha1 (RFC 8301)",
         lambda: dkimsign(m, "rsa2048", rsa2048, alg="rsa-sha1"),
         [("permerror", "rsa2048", "rsa-sha1 not accepted")]),
        ("512-bit key (RFC 8301)",
         lambda: dkimsign(m, "rsa512", key("rsa512.pem")),
         [("permerror", "rsa512", "key too short")]),
        ("key record that is not a key",
         lambda: dkimsign(m, "notakey", rsa2048),
         [("permerror", "notakey", "not a usable key")]),
        ("key record that is not a tag list",
         lambda: dkimsign(m, "garbage", rsa2048),
         [("permerror", "garbage", "")]),
        ("key for sha1 only (h=sha1)",
         lambda: dkimsign(m, "sha1only", rsa2048),
         [("permerror", "sha1only", "hash")]),
        # malformed tags
        ("a= unknown",
         lambda: sig_edit(signed(), b"a=rsa-sha256", b"a=rsa-sha257"),
         [("permerror", "rsa2048", "")]),
        ("v=2", lambda: sig_edit(signed(), b"v=1", b"v=2"),
         [("permerror", "rsa2048", "")]),
        ("d= with a bad byte",
         lambda: sig_edit(signed(), b"d=dkim.test", b"d=dk!m.test"),
         [("permerror", "rsa2048", "malformed")]),
        ("s= missing",
         lambda: sig_edit(signed(), b"s=rsa2048;", b""),
         [("permerror", None, "malformed")]),
        ("t= not a number",
         lambda: sig_edit(signed(), b"t=", b"t=x"),
         [("permerror", "rsa2048", "malformed")]),
        ("l= negative",
         lambda: sig_edit(signed(), b"v=1;", b"v=1; l=-5;"),
         [("permerror", "rsa2048", "")]),
        ("l= absurd",
         lambda: sig_edit(signed(), b"v=1;", b"v=1; l=99999999999999999999;"),
         [("permerror", "rsa2048", "")]),
        ("l= longer than the body",
         lambda: sig_edit(signed(), b"v=1;", b"v=1; l=100000;"),
         [("permerror|fail", "rsa2048", "")]),
        ("b= not base64",
         lambda: sig_edit(signed(), rb"\bb=[^;]*", b"b=!!!!not*base64",
                          regex=True),
         [("permerror|fail", "rsa2048", "")]),
        ("b= empty",
         lambda: sig_edit(signed(), rb"\bb=[^;]*", b"b=", regex=True),
         [("permerror|fail", "rsa2048", "")]),
        ("b= valid base64 of garbage",
         lambda: sig_edit(signed(), rb"\bb=[^;]*", b"b=SGVsbG8gd29ybGQ=",
                          regex=True),
         [("fail|permerror", "rsa2048", "")]),
        ("bh= garbage",
         lambda: sig_edit(signed(), rb"\bbh=[^;]*", b"bh=AAAA", regex=True),
         [("fail", "rsa2048", "")]),
        ("h= without from",
         lambda: sig_edit(signed(), rb"\bh=[^;]*", b"h=subject", regex=True),
         [("permerror", "rsa2048", "")]),
        ("h= empty",
         lambda: sig_edit(signed(), rb"\bh=[^;]*", b"h=", regex=True),
         [("permerror", "rsa2048", "")]),
        ("h= only colons",
         lambda: sig_edit(signed(), rb"\bh=[^;]*", b"h=:::", regex=True),
         [("permerror", "rsa2048", "")]),
        ("c= unknown",
         lambda: sig_edit(signed(), rb"\bc=[^;]*", b"c=odd/relaxed",
                          regex=True),
         [("permerror", "rsa2048", "")]),
        ("q= unknown (looked up anyway, never a pass)",
         lambda: sig_edit(signed(), rb"\bq=[^;]*", b"q=http/well-known",
                          regex=True),
         [("fail|permerror", "rsa2048", "")]),
        ("duplicate d=",
         lambda: sig_edit(signed(), b"d=dkim.test;",
                          b"d=dkim.test; d=other.test;"),
         [("permerror|fail", None, "")]),
        ("tag without value",
         lambda: sig_edit(signed(), b"v=1;", b"v=1; zz;"),
         [("permerror", "rsa2048", "malformed")]),
        ("i= outside d=",
         lambda: sig_edit(signed(), b"i=@dkim.test", b"i=@other.test"),
         [("permerror", "rsa2048", "")]),
        # several signatures
        ("mixed: pass, fail, no key, rsa-sha1, ed25519 pass",
         lambda: dkimsign(dkimsign(dkimsign(
             dkimsign(m, "rsa1024", rsa1024)
             .replace(b"Subject: a test", b"Subject: the test"),
             "missing", rsa2048), "rsa2048", rsa2048, alg="rsa-sha1"),
             "ed25519", seed, alg="ed25519-sha256"),
         [("pass", "ed25519", ""), ("permerror", "rsa2048", "rsa-sha1"),
          ("permerror", "missing", "no key"),
          ("fail", "rsa1024", "bad signature")]),
        ("mixed with a DNS failure and a malformed one",
         lambda: sig_edit(dkimsign(dkimsign(dkimsign(dkimsign(
             m, "rsa2048", rsa2048), "tempfail", rsa2048),
             "rsa2048", rsa2048, "simple", "simple"),
             "rsa1024", rsa1024), b"v=1;", b"v=1; zz;", index=1),
         [("pass", "rsa1024", ""), ("permerror", "rsa2048", "malformed"),
          ("temperror", "tempfail", "DNS error"),
          ("pass", "rsa2048", "")]),
        ("two signatures sharing a key",
         lambda: dkimsign(dkimsign(m, "rsa2048", rsa2048, "simple",
                                   "simple"), "rsa2048", rsa2048),
         [("pass", "rsa2048", ""), ("pass", "rsa2048", "")]),
    ]
    # past max_sigs: not verified, counted
    cases.append(("five signatures, -m 3",
                  lambda: dkimsign(dkimsign(dkimsign(dkimsign(dkimsign(
                      m, "rsa2048", rsa2048), "missing", rsa2048),
                      "rsa1024", rsa1024), "revoked", rsa2048),
                      "ed25519", seed, alg="ed25519-sha256"),
                  [("pass", "ed25519", ""),
                   ("permerror", "revoked", "revoked"),
                   ("pass", "rsa1024", "")], ["-m", "3"], 2))
    # 10000 header fields: refused, never a crash
    filler = b"".join(b"X-Filler-%d: %d\n" % (i, i) for i in range(10000))
    cases.append(("10000 header fields",
                  lambda: dkimsign(m, "rsa2048", rsa2048).replace(
                      b"To: Bob", filler + b"To: Bob"),
                  [("permerror", "rsa2048", "too many headers")]))
    return cases


def main(argv):
    build = argv[1] if len(argv) > 1 else os.environ.get("BUILD", "build")
    dkimcheck = os.path.join(build, "tests", "dkimcheck")
    if not os.path.isabs(dkimcheck):
        dkimcheck = os.path.join(ROOT, dkimcheck)
    passed = failed = 0
    for need in (dkimcheck, PY, DKIMSIGN):
        if not os.access(need, os.X_OK):
            print("FAIL setup: %s missing" % need)
            print("0 passed, 1 failed")
            return 1
    work = tempfile.mkdtemp(prefix="test_dkim_dns.")
    knot = Knot(ZONES, work)

    def report(name, why, detail=""):
        nonlocal passed, failed
        if why:
            failed += 1
            print("FAIL %s: %s (%s)" % (name, why, detail.replace("\n", " | ")))
        else:
            passed += 1
            print("ok   %s: %s" % (name, detail.replace("\n", " | ")[:300]))

    try:
        knot.start()
        env = Env(dkimcheck, work, knot)
        for c in build_cases():
            name, make, want = c[0], c[1], c[2]
            args = c[3] if len(c) > 3 else []
            ignored = c[4] if len(c) > 4 else 0
            try:
                max_sigs = int(args[1]) if args[:1] == ["-m"] else None
                text = env.verify(make(), max_sigs=max_sigs)
                report(name, expect(text, want, ignored), text)
            except Failed as e:
                report(name, str(e))

        # Our signer, checked by python3-dkim and by our verifier.
        keydir = os.path.join(work, "keys")
        os.makedirs(keydir)
        for k in ("rsa1024", "rsa2048", "ed25519", "rsa512"):
            dst = os.path.join(keydir, k + ".pem")
            shutil.copy(key(k + ".pem"), dst)
            os.chmod(dst, 0o600)
        for sel in ("rsa2048", "rsa1024", "ed25519"):
            table = os.path.join(work, "table-" + sel)
            with open(table, "w") as f:
                f.write("# test\ndkim.test %s keys/%s.pem\n" % (sel, sel))
            name = "dkimsign %s" % sel
            try:
                out = env.sign(MESSAGE, table)
                py = env.pyverify(out)
                text = env.verify(out)
                why = expect(text, [("pass", sel, "")])
                if py != "pass":
                    why = "python3-dkim says %r" % py
                elif b"c=relaxed/relaxed" not in out:
                    why = "not relaxed/relaxed"
                report(name, why, "python3-dkim: %s; ours: %s" % (py, text))
                # altered after signing: python3-dkim must refuse it too
                bad = env.pyverify(out.replace(b"Hello world", b"Hello"))
                report(name + " altered", "" if bad == "fail" else
                       "python3-dkim says %r" % bad, bad)
            except Failed as e:
                report(name, str(e))
        # Our signer on bodies and headers that canonicalization must
        # get right: ed25519 (dkimsign itself) with the body in chunks of
        # 65535, 1 and 7 bytes, checked by python3-dkim and by
        # libopendkim (ours), bh= and h= equal to those of libopendkim's
        # rsa-sha256 signature; then altered, refused.
        tables = {sel: os.path.join(work, "table-" + sel)
                  for sel in ("rsa2048", "ed25519")}
        for cname, msg, with_rsa in SIGN_CASES:
            rsa = None
            if with_rsa:
                name = "dkimsign rsa2048 %s" % cname
                try:
                    rsa = env.sign(msg, tables["rsa2048"])
                    py = env.pyverify(rsa)
                    text = env.verify(rsa)
                    why = expect(text, [("pass", "rsa2048", "")])
                    if py != "pass":
                        why = "python3-dkim says %r" % py
                    report(name, why, "python3-dkim: %s; ours: %s" %
                           (py, text))
                except Failed as e:
                    report(name, str(e))
            for chunk in (None, 1, 7):
                name = "dkimsign ed25519 %s%s" % (
                    cname, "" if chunk is None else " -c %d" % chunk)
                try:
                    out = env.sign(msg, tables["ed25519"], chunk)
                    py = env.pyverify(out)
                    why = ""
                    if with_rsa:
                        text = env.verify(out)
                        why = expect(text, [("pass", "ed25519", "")])
                    else:
                        text = "(not asked: it wants the last CRLF)"
                    if py != "pass":
                        why = "python3-dkim says %r" % py
                    elif rsa is not None and (
                            tag(out, b"bh") != tag(rsa, b"bh") or
                            tag(out, b"h") != tag(rsa, b"h")):
                        why = "bh=%s h=%s, rsa-sha256 has bh=%s h=%s" % (
                            tag(out, b"bh"), tag(out, b"h"),
                            tag(rsa, b"bh"), tag(rsa, b"h"))
                    report(name, why, "python3-dkim: %s; ours: %s" %
                           (py, text))
                    if chunk is not None:
                        continue
                    # altered: a line added to the body; for repeated
                    # fields the top To (the last one h= names), for the
                    # folded Subject a word of its second line
                    bad = out + b"tampered\n" if b"\n\n" in out else \
                        out + b"\ntampered\n"
                    if cname == "repeated headers":
                        bad = out.replace(b"To: first@", b"To: mallory@")
                    elif cname == "folded Subject":
                        bad = out.replace(b" subject  \n", b" Subject  \n")
                    pybad = env.pyverify(bad)
                    why = "" if pybad == "fail" else \
                        "python3-dkim says %r" % pybad
                    if with_rsa and not why:
                        text = env.verify(bad)
                        why = expect(text, [("fail", "ed25519", "")])
                    else:
                        text = ""
                    report(name + " altered", why, "python3-dkim: %s; "
                           "ours: %s" % (pybad, text))
                except Failed as e:
                    report(name, str(e))

        # the key table refuses keys it must not sign with
        table = os.path.join(work, "table-bad")
        with open(table, "w") as f:
            f.write("dkim.test rsa512 keys/rsa512.pem\n")
        p = subprocess.run([dkimcheck, "-k", table, "sign",
                            env.write(MESSAGE)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, check=False)
        err = p.stderr.decode()
        report("key table refuses a 512-bit key",
               "" if p.returncode == 78 and ":1:" in err and "512" in err
               else "exit %d" % p.returncode, err.strip())
        os.chmod(os.path.join(keydir, "rsa2048.pem"), 0o644)
        p = subprocess.run([dkimcheck, "-k", os.path.join(work,
                            "table-rsa2048"), "sign", env.write(MESSAGE)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, check=False)
        err = p.stderr.decode()
        report("key table refuses a world-readable key",
               "" if p.returncode == 78 and "world-readable" in err
               else "exit %d" % p.returncode, err.strip())

        # DNS down: temporary, never final
        msg = dkimsign(MESSAGE, "rsa2048", key("rsa2048.pem"))
        knot.pause()
        try:
            text = env.verify(msg, timeout_ms=200)
            report("knot paused", expect(text, [("temperror", "rsa2048",
                                                 "DNS error")]), text)
        except Failed as e:
            report("knot paused", str(e))
        finally:
            knot.resume()
        try:
            text = env.verify(msg)
            report("knot resumed", expect(text, [("pass", "rsa2048", "")]),
                   text)
        except Failed as e:
            report("knot resumed", str(e))
    except Exception as e:  # report, count, and still stop knot
        failed += 1
        print("FAIL setup: %s: %s" % (type(e).__name__, e))
    finally:
        knot.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
