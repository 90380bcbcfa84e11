"""casetable - table-driven DNS tests: the tables of tests/zones/README.md.

Shared by test_auth_dns.py (SPF, iprev) and test_dmarc_dns.py: read the
rows of a markdown table whose header row is known, run a check tool
(build/tests/authcheck, dmarccheck) that prints `key=value ...`, and
compare its output with a row's expect cell. Python 3 stdlib only.
"""

import re
import subprocess

FIELD_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_output(line):
    """parse_output - 'result=R reason="..."' -> dict (escapes kept)"""
    out = {}
    for key, val in FIELD_RE.findall(line):
        if val.startswith('"'):
            val = val[1:-1]
        out[key] = val
    return out


def read_cases(readme, header):
    """read_cases - rows under the table whose header row is `header`

    Returns dicts keyed by the header cells; a row with the wrong number
    of cells is an error (the table and its test must not drift apart).
    """
    cases = []
    current = None
    with open(readme) as f:
        for line in f.read().splitlines():
            if not line.startswith("|"):
                current = None
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells == header:
                current = cells
                continue
            if current is None or set(cells[0]) <= set("-"):
                continue
            if len(cells) != len(current):
                raise ValueError("bad case row: %s" % line)
            cases.append(dict(zip(current, cells)))
    return cases


def run_tool(tool, server, args, timeout_ms=1000):
    """run_tool - (parsed output, text), or (None, why) on failure"""
    cmd = [tool, "-s", server, "-t", str(timeout_ms)] + list(args)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return None, "%s timed out" % tool
    text = p.stdout.decode("utf-8", "replace").strip()
    if p.returncode != 0:
        return None, "exit %d: %s %s" % (
            p.returncode, text,
            p.stderr.decode("utf-8", "replace").strip())
    return parse_output(text), text


def check_expect(got, expect):
    """check_expect - '' if the expect cell holds, else why not

    The cell is '-', 'key= text' (exact) or 'key: text' (contains, any
    case).
    """
    expect = expect.strip()
    if expect in ("", "-"):
        return ""
    m = re.match(r"(\w+)(:|=)\s?(.*)$", expect)
    if not m:
        return "bad expect cell %r" % expect
    key, op, want = m.group(1), m.group(2), m.group(3).strip("`")
    have = got.get(key)
    if have is None:
        return "no %s in output" % key
    if op == "=" and have != want:
        return "%s %r, want %r" % (key, have, want)
    if op == ":" and want.lower() not in have.lower():
        return "%s %r, want it to contain %r" % (key, have, want)
    return ""
