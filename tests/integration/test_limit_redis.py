#!/usr/bin/env python3
"""test_limit_redis - the Redis rate-limit store against a real Redis.

    BUILD=build python3 tests/integration/test_limit_redis.py [TEST...]

Starts redis-server in the foreground as our child on 127.0.0.1 and a
free port (no persistence, its files under tests/tmp), and drives the
store through $BUILD/tests/limitcheck (tests/tools/limitcheck.c):
  - two limitcheck processes of four threads each reserve for one
    account at once: together they pass exactly the cap;
  - the same scripted commands (caps, refunds, blocks, count_refused,
    shadow, per-message caps, the clock going backwards, class changes)
    give the same decisions from Redis (Lua) as from LMDB (C);
  - overrides, get, reset, CSV import (a bad file changes nothing),
    top N, state keys expiring, the scripts flushed (NOSCRIPT -> EVAL),
    bad account names;
  - Redis paused (SIGSTOP) or stopped: the "unreachable" status (exit
    3) after the command timeout, never a crash and never a pass; and
    back once Redis answers again.
Prints one line per test and "N passed, N failed" (runner.py). Python 3
standard library only.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from runner import Skip, build_dir, check, check_eq, mkdtemp, run  # noqa

NOW = 1699999980  # 2023-11-14T22:13:00Z, minute-aligned
CLASSES = ['-c', 'default=3/hour', '-c', 'premium=10/hour',
           '-c', 'race=3000/day', '-c', 'big=1000/day',
           '-c', 'blocky=2/minute,block=1h',
           '-c', 'cr=2/hour,count_refused=yes',
           '-c', 'shadow=1/hour,per_message=1,shadow=yes',
           '-c', 'multi=10/day,5/hour,msg:2/hour,per_message=5,'
                 'per_session=10,action=reject']
ENV = {}

# Commands for limitcheck replay: every feature, both stores.
REPLAY = """\
# NOW reserve ACCOUNT RCPTS MSGS MSG_RCPTS SESSION_RCPTS, and so on
1699999980 reserve alice 1 1 0 0
1699999981 reserve alice 1 0 1 1
1699999990 reserve alice 1 0 2 2
1699999995 reserve alice 1 0 3 3
1699999996 get alice
1699999997 refund alice
1699999998 get alice
1699999999 reserve alice 1 0 0 0
1699990000 reserve alice 1 0 0 0
1700003640 reserve alice 1 1 0 0
1700003641 get alice
set bob blocky
1700000000 reserve bob 2 0 0 0
1700000005 reserve bob 1 0 0 0
1700000130 reserve bob 1 0 0 0
1700000140 get bob
1700003606 reserve bob 1 0 0 0
set carol cr
1700000000 reserve carol 2 0 0 0
1700000070 reserve carol 1 0 0 0
1700000130 reserve carol 1 0 0 0
1700003660 reserve carol 1 0 0 0
1700003660 get carol
set dave shadow
1700000000 reserve dave 1 0 0 0
1700000000 reserve dave 1 0 1 0
1700000000 reserve dave 1 0 0 0
1700000000 get dave
set erin multi
1700000000 reserve erin 3 1 0 0
1700000001 reserve erin 3 1 0 0
1700000002 reserve erin 5 1 0 0
1700000003 reserve erin 1 0 5 9
1700000004 reserve erin 1 0 1 10
1700000005 reserve erin 11 0 0 0
1700000006 get erin
set erin 2/hour msg:1/minute
1700000007 reserve erin 1 1 0 0
1700000008 get erin
set erin -
1700000009 get erin
set frank 4/90s 10/3601s
1700000000 reserve frank 3 0 0 0
1700000050 reserve frank 1 0 0 0
1700000060 reserve frank 1 0 0 0
1700000095 reserve frank 1 0 0 0
1700000095 get frank
1700000100 refund frank
1700000101 get frank
reset frank
1700000102 get frank
set gina big
1700000000 reserve gina 999 0 0 0
1700000001 reserve gina 2 0 0 0
1700000002 reserve gina 1 0 0 0
1700090000 reserve gina 1000 0 0 0
1700090000 get gina
1700000096 reserve gone 1 0 0 0
1700000096 refund gone
1700000096 get gone
"""


def _free_port():
    """_free_port - a TCP port free on 127.0.0.1 just now"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child: SIGTERM when the test process dies (Linux)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Redis:
    """One redis-server on 127.0.0.1, our child, no persistence."""

    def __init__(self, work):
        self.work = work
        self.port = None
        self.proc = None

    def start(self):
        """start - run it; return once it answers PING"""
        for _ in range(10):
            self.port = _free_port()
            log = open(os.path.join(self.work, 'redis.log'), 'ab')
            self.proc = subprocess.Popen(
                ['redis-server', '--port', str(self.port),
                 '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                 '--dir', self.work, '--daemonize', 'no',
                 '--protected-mode', 'yes'],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
            log.close()
            end = time.monotonic() + 10
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    if self.command('PING') == 'PONG':
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            self.stop()  # a port taken meanwhile: try another one
        raise RuntimeError('redis-server did not start; see %s/redis.log'
                           % self.work)

    def stop(self):
        """stop - SIGCONT, SIGTERM, then SIGKILL; safe twice"""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        try:
            p.send_signal(signal.SIGCONT)
            p.terminate()
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        except ProcessLookupError:
            pass

    def signal(self, sig):
        """signal - SIGSTOP / SIGCONT the server"""
        if self.proc is not None:
            self.proc.send_signal(sig)

    def address(self):
        return '127.0.0.1:%d' % self.port

    def command(self, *args):
        """command - one command over RESP; the reply, decoded"""
        out = b'*%d\r\n' % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        with socket.create_connection(('127.0.0.1', self.port),
                                      timeout=5) as s:
            s.sendall(out)
            f = s.makefile('rb')
            return _resp(f)


def _resp(f):
    """_resp - one RESP value from a file"""
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b'+':
        return rest.decode()
    if kind == b'-':
        raise RuntimeError(rest.decode())
    if kind == b':':
        return int(rest)
    if kind == b'$':
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors='replace')
    if kind == b'*':
        n = int(rest)
        return None if n < 0 else [_resp(f) for _ in range(n)]
    raise RuntimeError('bad RESP %r' % line)


def limitcheck(*args, store='redis', where=None, now=NOW, stdin=None,
               timeout=60, extra=()):
    """limitcheck - run the tool; (exit status, stdout, stderr)"""
    if where is None:
        where = ENV['redis'].address()
    cmd = [ENV['tool']] + CLASSES + ['-n', str(now), '-P', '4']
    cmd += list(extra) + [store, where] + [str(a) for a in args]
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       universal_newlines=True)
    return p.returncode, p.stdout, p.stderr


def fields(line):
    """fields - key=value pairs of a decision line (reply last)"""
    head, _, reply = line.partition(' reply=')
    out = dict(kv.split('=', 1) for kv in head.split())
    out['reply'] = reply.strip().strip('"')
    return out


def ok(*args, **kw):
    """ok - limitcheck that must succeed; its stdout"""
    rc, out, err = limitcheck(*args, **kw)
    check(rc == 0, '%s: exit %d, stderr %r' % (' '.join(map(str, args)),
                                               rc, err))
    return out


def setup():
    if shutil.which('redis-server') is None:
        raise Skip('redis-server is not installed')
    ENV['tool'] = os.path.join(build_dir(), 'tests', 'limitcheck')
    if not os.access(ENV['tool'], os.X_OK):
        raise RuntimeError('%s not built' % ENV['tool'])
    ENV['work'] = mkdtemp('test_limit_redis')
    ENV['redis'] = Redis(ENV['work'])
    atexit.register(ENV['redis'].stop)
    ENV['redis'].start()


def teardown():
    if 'redis' in ENV:
        ENV['redis'].stop()
    if 'work' in ENV:
        shutil.rmtree(ENV['work'], ignore_errors=True)


def test_race():
    """two processes, four threads each: exactly the cap passes"""
    ok('set', 'race@example.com', 'race')
    cmd = [ENV['tool']] + CLASSES + ['-n', str(NOW), '-P', '4', 'redis',
                                     ENV['redis'].address(), 'race',
                                     'race@example.com', '4']
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              universal_newlines=True) for _ in range(2)]
    total = 0
    for p in procs:
        out, err = p.communicate(timeout=120)
        check_eq(p.returncode, 0, 'race exit (stderr %r)' % err)
        got = fields(out.strip() + ' reply=')
        check_eq(got['errors'], '0', 'race errors')
        check_eq(got['unreachable'], '0', 'race unreachable')
        check(int(got['accepted']) > 0,
              'one racer got nothing: %r' % out)
        check_eq(got['refused'], '4', 'each thread ends refused')
        total += int(got['accepted'])
    check_eq(total, 3000, 'accepted by both processes together')
    out = ok('get', 'race@example.com', now=NOW + 60)
    check('3000/3000 recipients used in the last 24 h' in out,
          'get after the race: %r' % out)


def test_same_as_lmdb():
    """the Lua in Redis decides as the C with LMDB, command for command"""
    ENV['redis'].command('FLUSHALL')
    lmdb = os.path.join(ENV['work'], 'lmdb-replay')
    rc, want, err = limitcheck('replay', store='lmdb', where=lmdb,
                               stdin=REPLAY)
    check_eq(rc, 0, 'lmdb replay exit (stderr %r)' % err)
    rc, got, err = limitcheck('replay', stdin=REPLAY)
    check_eq(rc, 0, 'redis replay exit (stderr %r)' % err)
    for w, g in zip(want.splitlines(), got.splitlines()):
        check_eq(g, w, 'redis vs lmdb')
    check_eq(len(got.splitlines()), len(want.splitlines()), 'lines')
    # A few decisions checked on their own, not only against LMDB.
    lines = dict(line.split(': ', 1) for line in got.splitlines()
                 if line.split(': ', 1)[1].startswith('allowed='))
    check_eq(fields(lines['5'])['reply'],
             '451 4.7.1 Sending limit reached: 3 recipients per 1 h; '
             'try again after 2023-11-14 23:14 UTC', 'line 5 reply')
    check_eq(fields(lines['9'])['allowed'], '1', 'refund freed one')
    check_eq(fields(lines['10'])['allowed'], '0',
             'clock backwards frees nothing')
    check_eq(fields(lines['15'])['started'], '1', 'block started')
    check_eq(fields(lines['16'])['cause'], 'block', 'block holds')
    check_eq(fields(lines['28'])['shadow'], '1', 'shadow refusal')
    check_eq(fields(lines['35'])['cause'], 'per_session', 'per session')
    check('3/2 recipients' in got, 'count_refused charged: %r' % got)


def test_override_get_reset():
    """overrides by class and caps, get, reset, bad overrides"""
    out = ok('set', 'bob@example.com', 'premium')
    check_eq(out, 'set\n', 'set output')
    out = ok('get', 'bob@example.com')
    check('class premium (override): 10/hour' in out, 'get: %r' % out)
    ok('set', 'bob@example.com', '2/hour per_message=1')
    for i in range(2):
        d = fields(ok('reserve', 'bob@example.com', now=NOW + i))
        check_eq(d['allowed'], '1', 'reserve %d' % i)
    d = fields(ok('reserve', 'bob@example.com', now=NOW + 5))
    check_eq(d['allowed'], '0', 'third reserve')
    check_eq(d['cap'], 'rcpt:2/3600', 'cap hit')
    check_eq(d['class'], 'explicit', 'class of explicit caps')
    check_eq(d['reply'], '451 4.7.1 Sending limit reached: 2 recipients '
             'per 1 h; try again after 2023-11-14 23:14 UTC', 'reply')
    d = fields(ok('reserve', 'bob@example.com', 1, 0, 1, 1, now=NOW + 5))
    check_eq(d['cause'], 'per_message', 'per-message cap first')
    out = ok('get', 'bob@example.com', now=NOW + 10)
    check('2/2 recipients used in the last 1 h, next frees at '
          '2023-11-14 23:14 UTC' in out, 'get: %r' % out)
    check('override="2/hour per_message=1"' in out, 'override: %r' % out)
    check_eq(ok('reset', 'bob@example.com'), 'reset\n', 'reset output')
    out = ok('get', 'bob@example.com', now=NOW + 10)
    check('0/2 recipients used' in out, 'after reset: %r' % out)
    check_eq(fields(ok('reserve', 'bob@example.com',
                       now=NOW + 11))['allowed'], '1', 'after reset')
    ok('set', 'bob@example.com', '-')
    check('class default: 3/hour' in ok('get', 'bob@example.com'),
          'override removed')
    for bad, why in (('abc/day', 'maximum "abc" is not a number'),
                     ('-5', 'bad cap "-5": want MAX/WINDOW'),
                     ('gold', 'no class "gold"'),
                     ('1/day shadow=maybe', 'shadow=maybe: want yes or no')):
        rc, out, err = limitcheck('set', 'bob@example.com', bad)
        check_eq(rc, 1, 'set %s exit' % bad)
        check(why in err, 'set %s: stderr %r' % (bad, err))
    # The class went to Redis with the override: a second filter with
    # other classes still sees it.
    check_eq(ENV['redis'].command('GET', 'sakimori:rl:class:premium'),
             '10/hour', 'published class')


def test_import():
    """CSV import in one MULTI/EXEC; a bad file changes nothing"""
    path = os.path.join(ENV['work'], 'good.csv')
    with open(path, 'w') as f:
        f.write('account,class\r\n# comment\r\n'
                'imp1@example.com,premium\r\n'
                '"imp,2@example.com",5/hour msg:1/hour\r\n'
                'imp3@example.com,big\n')
    check_eq(ok('import', path), 'imported 3\n', 'import output')
    check('class premium (override)' in ok('get', 'imp1@example.com'),
          'imp1 premium')
    check('explicit caps (override): 5/hour msg:1/hour' in
          ok('get', 'imp,2@example.com'), 'imp,2 caps')
    bad = os.path.join(ENV['work'], 'bad.csv')
    with open(bad, 'w') as f:
        f.write('new1@example.com,premium\n'
                'new2@example.com,abc/day\n'
                'new3@example.com,gold\n'
                'imp1@example.com,-\n'
                'new1@example.com,big\n')
    rc, out, err = limitcheck('import', bad)
    check_eq(rc, 1, 'bad import exit')
    check_eq(err, 'limitcheck: line 2: bad cap "abc/day": maximum "abc" '
             'is not a number\nline 3: no class "gold"\nline 5: account '
             'also on line 1\n', 'bad import error')
    check('class default' in ok('get', 'new1@example.com'),
          'nothing of the bad file applied')
    check('class premium (override)' in ok('get', 'imp1@example.com'),
          'imp1 kept')
    replace = os.path.join(ENV['work'], 'replace.csv')
    with open(replace, 'w') as f:
        f.write('imp3@example.com,premium\n')
    check_eq(ok('import', replace, 'replace'), 'imported 1\n', 'replace')
    check('class default' in ok('get', 'imp1@example.com'),
          'replace dropped imp1')
    check_eq(ENV['redis'].command('HLEN', 'sakimori:rl:ov'), 1,
             'overrides after replace')


def test_top():
    """the heaviest senders, heaviest first, with their caps"""
    ENV['redis'].command('FLUSHALL')
    for i in range(12):
        ok('set', 'top%02d' % i, 'big')
        ok('reserve', 'top%02d' % i, i + 1)
    out = ok('top', 3, now=NOW + 5)
    check_eq(out, '1. top11 12/1000 rcpt:1000/86400\n'
             '2. top10 11/1000 rcpt:1000/86400\n'
             '3. top09 10/1000 rcpt:1000/86400\n', 'top 3')
    check_eq(ok('top', 5, now=NOW + 3 * 86400), '', 'top, days later')


def test_ttl():
    """state keys expire once idle; a reset or refund to zero deletes"""
    ENV['redis'].command('FLUSHALL')
    d = fields(ok('reserve', 'ttl@example.com'))
    ttl = ENV['redis'].command('TTL', 'sakimori:rl:c:ttl@example.com')
    # 3/hour: idle at (NOW/60 + 61) * 60, plus the default 60 s.
    want = (NOW // 60 + 61) * 60 - NOW + 60
    check_eq(ttl, want, 'TTL of a state key')
    at, r, m = d['token'].split(',')
    ok('refund', 'ttl@example.com', at, r, m)
    check_eq(ENV['redis'].command('EXISTS', 'sakimori:rl:c:ttl@example.com'),
             0, 'state deleted once idle')
    check_eq(ENV['redis'].command('EXISTS', 'sakimori:rl:c:never'), 0,
             'get creates nothing')


def test_noscript():
    """scripts flushed from Redis: EVAL takes over, then EVALSHA again"""
    ENV['redis'].command('SCRIPT', 'FLUSH')
    rc, out, err = limitcheck('replay', stdin='%d reserve ns 1 0 0 0\n'
                              '%d reserve ns 1 0 0 0\n' % (NOW, NOW))
    check_eq(rc, 0, 'replay after SCRIPT FLUSH (stderr %r)' % err)
    check_eq(out.count('allowed=1'), 2, 'both reserved: %r' % out)


def test_bad_input():
    """odd account names and options: clear errors, nothing stored"""
    keys = ENV['redis'].command('DBSIZE')
    for account, why in (('a\x01b', 'control byte 0x01 at offset 1'),
                         ('x' * 400, 'account name is 400 bytes, more '
                          'than 320'),
                         ('a b', 'space at offset 1'),
                         ('\udcff', 'invalid UTF-8 at offset 0')):
        try:
            rc, out, err = limitcheck('reserve', account)
        except UnicodeEncodeError:
            rc, out, err = _raw_reserve(account)
        check_eq(rc, 1, 'reserve %r exit' % account[:20])
        check(why in err, '%r: stderr %r' % (account[:20], err))
        check('allowed=1' not in out, 'passed: %r' % out)
    check_eq(ENV['redis'].command('DBSIZE'), keys, 'keys after bad input')
    rc, out, err = limitcheck('reserve', 'ok', extra=['-p', 'x' * 300])
    check_eq(rc, 1, 'long prefix exit')
    check('prefix longer than 200' in err, 'long prefix: %r' % err)
    rc, out, err = limitcheck('reserve', 'ok', where='127.0.0.1:99999')
    check_eq(rc, 1, 'bad port exit')
    check('bad port' in err, 'bad port: %r' % err)


def _raw_reserve(account):
    """_raw_reserve - limitcheck with an account of raw bytes"""
    cmd = [ENV['tool'].encode()] + [c.encode() for c in CLASSES]
    cmd += [b'-n', str(NOW).encode(), b'redis',
            ENV['redis'].address().encode(), b'reserve',
            account.encode('utf-8', 'surrogateescape')]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_unreachable():
    """Redis paused or gone: exit 3, quickly, never a pass or a crash"""
    redis = ENV['redis']
    ok('reserve', 'down@example.com')
    redis.signal(signal.SIGSTOP)
    try:
        start = time.monotonic()
        rc, out, err = limitcheck('reserve', 'down@example.com',
                                  extra=['-t', '300'])
        took = time.monotonic() - start
    finally:
        redis.signal(signal.SIGCONT)
    check_eq(rc, 3, 'paused: exit (stderr %r)' % err)
    check('timed out' in err, 'paused: stderr %r' % err)
    check('allowed' not in out, 'paused: output %r' % out)
    check(took < 10, 'paused: took %.1f s' % took)
    check_eq(fields(ok('reserve', 'down@example.com'))['allowed'], '1',
             'answers again after SIGCONT')
    redis.stop()
    rc, out, err = limitcheck('reserve', 'down@example.com')
    check_eq(rc, 3, 'stopped: exit (stderr %r)' % err)
    check('Connection refused' in err, 'stopped: stderr %r' % err)
    check_eq(out, '', 'stopped: output')
    rc, out, err = limitcheck('race', 'down@example.com', 4)
    check_eq(rc, 3, 'race against nothing: exit')
    check(out.startswith('accepted=0 refused=0 errors=0 unreachable='),
          'race against nothing: %r' % out)
    for args in (('get', 'x'), ('set', 'x', 'premium'), ('reset', 'x'),
                 ('top', 3)):
        rc, out, err = limitcheck(*args)
        check_eq(rc, 3, '%s against nothing: exit' % args[0])


if __name__ == '__main__':
    run([test_race, test_same_as_lmdb, test_override_get_reset,
         test_import, test_top, test_ttl, test_noscript, test_bad_input,
         test_unreachable], setup=setup, teardown=teardown)
