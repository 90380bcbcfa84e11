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


def rss_mb(pid):
    """rss_mb - resident memory of a process, MB"""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return 0.0


def push_bench(build, n):
    """push_bench - push a 1,000,000-entry list while the milter serves
    load: the load's latencies with and without the push, the push time"""
    import threading
    import time
    work = mkdtemp('pushbench')
    big = os.path.join(work, 'big.list')
    with open(big, 'w') as f:
        for i in range(1000000):
            f.write('10.%d.%d.%d\n' % (i >> 16, (i >> 8) & 255, i & 255))
    config = ('list "big" {\n\tkind = ip\n\tfields = {client_ip}\n'
              '\taction = reject\n}\n')
    opts = {'trusted_networks': ['192.0.2.0/24'],
            'dns_nameservers': ['127.0.0.1@1'], 'spf_helo': 'false',
            'dkim_verify': 'false', 'dmarc': 'false',
            'authserv_id': 'mx.bench.test',
            'state_dir': os.path.join(work, 'state')}
    tool = os.path.join(build, 'tests', 'milterbench')
    print('list push under load (%d messages per load, c=8, trusted '
          'client; the list is matched for every client):' % n)
    with Sakimori(opts, config_text=config, build=build) as s:
        cmd = [tool, '-p', str(s.port), '-n', str(n), '-c', '8']
        subprocess.run(cmd[:5] + ['300'] + cmd[6:], check=True,
                       capture_output=True)
        out = subprocess.run(cmd, check=True, capture_output=True,
                             text=True).stdout.strip()
        print('  no push:        %s' % out)
        before = rss_mb(s.proc.pid)
        pushes = []

        def push():
            for _ in range(2):
                t = time.time()
                rc, text = s.control('list', 'push', 'big', big)
                pushes.append((time.time() - t, rc, text.strip()))

        th = threading.Thread(target=push)
        load = subprocess.Popen(cmd + ['-n', str(n * 4)],
                                stdout=subprocess.PIPE, text=True)
        th.start()
        out = load.communicate()[0].strip()
        th.join()
        print('  during 2 pushes: %s' % out)
        for secs, rc, text in pushes:
            print('  push of 1,000,000 entries: %.2f s (exit %d: %s)' %
                  (secs, rc, text[:40]))
        print('  sakimori RSS: %.0f MB before, %.0f MB after' %
              (before, rss_mb(s.proc.pid)))


def limit_bench(build):
    """limit_bench - rate-limit decisions (LMDB, a real Redis) and the
    size of 10,000,000 idle accounts (tests/tools/limitbench.c)"""
    from redis_server import RedisServer
    tool = os.path.join(build, 'tests', 'limitbench')
    work = mkdtemp('limitbench')
    with RedisServer(work) as redis:
        out = subprocess.run([tool, '-a', redis.address,
                              os.path.join(work, 'lmdb')], check=True,
                             capture_output=True, text=True)
    print('sending caps (%s):' % tool)
    print(out.stdout.rstrip())


def list_bench(build):
    """list_bench - local list figures: 1M-entry load, lookups, patterns"""
    tool = os.path.join(build, 'tests', 'listbench')
    out = subprocess.run([tool], check=True, capture_output=True, text=True)
    print('local lists (%s):' % tool)
    print(out.stdout.rstrip())


if __name__ == '__main__':
    main()
    BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        'BUILD', 'build')
    list_bench(BUILD)
    limit_bench(BUILD)
    push_bench(BUILD, int(os.environ.get('BENCH_MESSAGES', '5000')))
