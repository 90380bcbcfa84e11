"""bench - performance figures for sakimori (make bench).

Starts knot with the test zones and sakimori pointed at it, then drives
sakimori with milterbench (tests/tools/milterbench.c) over the milter
protocol, one message per connection, and prints for each load:
messages per second, latency percentiles, and sakimori's CPU time per
message (user + system, from /proc). Figures only: nothing here passes or
fails on a time.

    python3 tests/bench/run.py [BUILD]      (default build/)
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))

from knot import Knot  # noqa: E402
from test_content import HEADERS, dkim_sign, wire  # noqa: E402
from runner import mkdtemp  # noqa: E402
from sakimori_proc import Sakimori  # noqa: E402

TICKS = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    """cpu_seconds - user + system CPU time of a process so far"""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run_load(build, port, pid, label, n, conns, extra):
    """run_load - one milterbench run; print its line with CPU per message"""
    tool = os.path.join(build, 'tests', 'milterbench')
    cmd = [tool, '-p', str(port), '-n', str(n), '-c', str(conns)] + extra
    subprocess.run(cmd + ['-n', '200'], check=True, capture_output=True)
    before = cpu_seconds(pid)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    cpu = cpu_seconds(pid) - before
    print('%-34s %s cpu_us_per_msg=%.0f' % (label, out.stdout.strip(),
                                             cpu / n * 1e6))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        'BUILD', 'build')
    work = mkdtemp('bench')
    zones = os.path.join(TOP, 'tests', 'zones')
    n = int(os.environ.get('BENCH_MESSAGES', '5000'))
    with Knot(zones, work) as knot:
        dns = '127.0.0.1@%d' % knot.port
        print('sakimori bench: %d messages per load, one per connection, '
              'on %d cores' % (n, os.cpu_count()))
        loads = [
            ('trusted client (no checks)',
             {'trusted_networks': ['192.0.2.0/24']}, []),
            ('inbound: SPF x2 + iprev, cached',
             {'trusted_networks': ['127.0.0.0/8']}, []),
            ('inbound, 5 rcpts, 30 headers',
             {'trusted_networks': ['127.0.0.0/8']}, ['-r', '5', '-h', '30']),
        ]
        # DKIM: one rsa-2048 signature on a 10 KB message, key cached
        # after the first message; the same load with DKIM off.
        body = b''.join(b'line %05d of a ten kilobyte test message '
                        b'body, padded to size.........\r\n' % i
                        for i in range(128))
        h, b = dkim_sign(HEADERS, body)
        msg = os.path.join(work, 'signed10k.eml')
        with open(msg, 'wb') as f:
            f.write(wire(h, b))
        print('signed message: %d bytes (body %d)' % (os.path.getsize(msg),
                                                      len(b)))
        loads += [
            ('10 KB, DKIM rsa-2048 verify',
             {'trusted_networks': ['127.0.0.0/8'], 'dmarc': 'false'},
             ['-m', msg, '-f', 'alice@pass.spf.test']),
            ('10 KB, DKIM off',
             {'trusted_networks': ['127.0.0.0/8'], 'dmarc': 'false',
              'dkim_verify': 'false'},
             ['-m', msg, '-f', 'alice@pass.spf.test']),
        ]
        for label, opts, extra in loads:
            opts = dict(opts)
            opts['dns_nameservers'] = [dns]
            opts['authserv_id'] = 'mx.bench.test'
            with Sakimori(opts, build=build, args=['-o', 'debug={}']) as s:
                for conns in (1, 8):
                    run_load(build, s.port, s.proc.pid,
                             '%s c=%d' % (label, conns), n, conns, extra)


def list_bench(build):
    """list_bench - local list figures: 1M-entry load, lookups, patterns"""
    tool = os.path.join(build, 'tests', 'listbench')
    out = subprocess.run([tool], check=True, capture_output=True, text=True)
    print('local lists (%s):' % tool)
    print(out.stdout.rstrip())


if __name__ == '__main__':
    main()
    list_bench(sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        'BUILD', 'build'))
