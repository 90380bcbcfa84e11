#!/usr/bin/env python3
"""test_limits - per-account sending caps through the milter.

What carriers rely on: an account with a cap of N recipients gets exactly
N through, the next one a 451 4.7.1 saying which cap and when; a message
crossing the cap mid-way loses only the recipients past it; recipients of
a message that does not go on are given back; caps hold exactly under
many concurrent sessions, on one filter (LMDB) and across two filters
sharing a real Redis; counts survive a restart; overrides, reset, bulk
import (a bad line refuses the whole file) and top through sakimori-ctl;
shadow classes refuse nothing; Redis stopped mid-way: mail still flows
under the local fail mode, within the documented bound; alerts at 80% and
100% run the configured command, once per account and threshold.
"""

import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from milter_client import MilterClient  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from runner import check, check_eq, mkdtemp, run, wait_for  # noqa: E402
from sakimori_proc import Sakimori  # noqa: E402

ENV = {}
COUNTER = [0]
LOCK = threading.Lock()

CLASSES = '''
limit_class "default" {
	caps = "5/hour"
}
limit_class "permsg" {
	caps = "100/hour per_message=3"
}
limit_class "bulk" {
	caps = "3/hour block=1h"
}
limit_class "shadowed" {
	caps = "1/hour shadow=yes"
}
limit_class "big" {
	caps = "40/hour msg:1000/day"
}
'''


def options(name, **extra):
    opts = {
        'authserv_id': 'mx.test',
        'state_dir': os.path.join(ENV['dir'], name),
        'trusted_networks': ['10.9.9.0/24'],
        'dns_nameservers': ['127.0.0.1@1'],
        'dkim_verify': 'false',
        'dmarc': 'false',
    }
    opts.update(extra)
    return opts


def setup():
    ENV['dir'] = mkdtemp('test_limits')


def teardown():
    pass


def ctl(s, *words):
    r = subprocess.run([s.ctl, '-s', s.socket] + list(words),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def send(s, account, rcpts, abort=False, ip='192.0.2.10', sender=None,
         drop=False):
    """send - one message for an account; (replies to RCPT, final stage)"""
    with LOCK:
        COUNTER[0] += 1
        qid = 'LM%d' % COUNTER[0]
    macros = {'i': qid}
    if account is not None:
        macros['{auth_authen}'] = account
    c = MilterClient('127.0.0.1', s.port, timeout=30)
    try:
        c.negotiate()
        c.connect('[%s]' % ip, ip)
        c.helo('client.test')
        c.macros('M', macros)
        c.mail(sender or '<%s@sub.test>' % (account or 'x'))
        replies = [c.rcpt(r) for r in rcpts]
        if drop:
            c.sock.close()
            return replies, 'dropped'
        if abort or not any(r[0] == 'continue' for r in replies):
            c.abort()
            return replies, 'aborted'
        c.data()
        c.header('From', '<%s@sub.test>' % (account or 'x'))
        c.eoh()
        c.body(b'hello\r\n')
        action, _, _ = c.eom()
        return replies, action
    finally:
        try:
            c.close()
        except OSError:
            pass


def refused(reply):
    return reply[0] in ('tempfail', 'reject', 'replycode')


def passed(replies):
    return sum(1 for r in replies if r[0] == 'continue')


def rcpts(n, tag='r'):
    return ['<%s%d@example.net>' % (tag, i) for i in range(n)]


def used(s, account):
    rc, out, err = ctl(s, 'limit', 'get', account)
    check_eq(rc, 0, 'limit get %s (%s)' % (account, err))
    m = re.search(r'(\d+)/(\d+) recipients', out)
    return (int(m.group(1)) if m else 0), out


def test_exact_cap_and_reply():
    with Sakimori(options('s1'), config_text=CLASSES) as s:
        for i in range(5):
            replies, action = send(s, 'alice', rcpts(1, 'a%d-' % i))
            check_eq(passed(replies), 1, 'message %d of 5' % (i + 1))
        replies, action = send(s, 'alice', ['<six@example.net>'])
        code, text = replies[0]
        check(code in ('tempfail', 'replycode') and text is not None and
              text.startswith('451 4.7.1 Sending limit reached: 5 '
                              'recipients per 1 h; try again after '),
              'the 6th recipient: %r' % (replies[0],))
        n, out = used(s, 'alice')
        check_eq(n, 5, 'limit get after the cap (%s)' % out)
        check('next frees at' in out, 'limit get says when: %r' % out)
        line = s.wait_log(r'limit account=alice class=default rcpt=<six@'
                          r'example\.net> refused reply="451 4\.7\.1 ', 5)
        check(line, 'refusal logged')
        rc, out, _ = ctl(s, 'stats')
        check('limit_refused_class_default 1' in out,
              'refusals per class in stats: %r' % out)


def test_mid_message_and_refunds():
    with Sakimori(options('s2'), config_text=CLASSES) as s:
        replies, action = send(s, 'bob', rcpts(7))
        check_eq([r[0] == 'continue' for r in replies], [True] * 5 +
                 [False] * 2, 'a message crossing the cap')
        check(all(r[1].startswith('451 4.7.1 ') for r in replies[5:]),
              'the two past the cap: %r' % (replies[5:],))
        check_eq(action, 'accept', 'the message goes on with 5')
        check_eq(used(s, 'bob')[0], 5, 'bob charged for the 5')
        # Aborted after RCPT: given back.
        replies, action = send(s, 'carol', rcpts(3), abort=True)
        check_eq(passed(replies), 3, 'carol: three recipients pass RCPT')
        check_eq(used(s, 'carol')[0], 0, 'carol after the abort')
        # Session lost before the end of the message: given back too.
        replies, action = send(s, 'carol', rcpts(2), drop=True)
        check(wait_for(lambda: used(s, 'carol')[0] == 0, 5),
              'carol after a dropped session: %r' % (used(s, 'carol'),))
        replies, action = send(s, 'carol', rcpts(5))
        check_eq(passed(replies), 5, 'carol has her whole cap after')
        # Per-message cap: 452 4.5.3 past it; the message goes on.
        rc, out, err = ctl(s, 'limit', 'set', 'dave', 'permsg')
        check_eq(rc, 0, 'limit set dave permsg (%s)' % err)
        replies, action = send(s, 'dave', rcpts(5))
        check(passed(replies) == 3 and replies[3][1] is not None and
              replies[3][1].startswith('452 4.5.3 '),
              'per_message=3: %r' % (replies,))


def test_block_and_shadow():
    with Sakimori(options('s3'), config_text=CLASSES) as s:
        ctl(s, 'limit', 'set', 'erin', 'bulk')
        replies, _ = send(s, 'erin', rcpts(4))
        check_eq(passed(replies), 3, 'bulk: 3 pass')
        n, out = used(s, 'erin')
        check('blocked until' in out, 'block shows in limit get: %r' % out)
        rc, out, err = ctl(s, 'limit', 'reset', 'erin')
        check_eq(rc, 0, 'reset (%s)' % err)
        replies, _ = send(s, 'erin', rcpts(1))
        check_eq(passed(replies), 1, 'after reset erin sends again')
        # Shadow: logs what it would refuse, refuses nothing.
        ctl(s, 'limit', 'set', 'frank', 'shadowed')
        replies, _ = send(s, 'frank', rcpts(3))
        check_eq(passed(replies), 3, 'shadow class refuses nothing')
        check(s.wait_log(r'limit account=frank class=shadowed .* '
                         r'shadow=would_refuse', 5), 'shadow logged')
        rc, out, _ = ctl(s, 'stats')
        check('limit_shadow_class_shadowed 2' in out,
              'shadow counted: %r' % out)


def test_concurrency_one_filter():
    with Sakimori(options('s4'), config_text=CLASSES) as s:
        ctl(s, 'limit', 'set', 'gina', 'big')
        got = []

        def worker():
            for _ in range(8):
                replies, _ = send(s, 'gina', rcpts(1))
                with LOCK:
                    got.append(passed(replies))
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        check_eq(len(got), 64, 'messages sent')
        check_eq(sum(got), 40, 'recipients accepted with a cap of 40')


def test_restart_keeps_counts_and_ctl():
    with Sakimori(options('s5'), config_text=CLASSES) as s:
        send(s, 'hank', rcpts(4))
        check_eq(used(s, 'hank')[0], 4, 'hank before restart')
        good = os.path.join(ENV['dir'], 'good.csv')
        with open(good, 'w') as f:
            f.write('account,class\nivan,bulk\n"judy",50/day 10/hour\n')
        rc, out, err = ctl(s, 'limit', 'import', good)
        check(rc == 0 and 'imported 2' in out, 'import: %r %r' % (out, err))
        bad = os.path.join(ENV['dir'], 'bad.csv')
        with open(bad, 'w') as f:
            f.write('kate,bulk\nleo,abc/day\nmia,nosuchclass\n')
        rc, out, err = ctl(s, 'limit', 'import', bad)
        check(rc == 1 and 'line 2' in err and 'abc' in err,
              'bad import names its line: %r' % err)
        rc, out, _ = ctl(s, 'limit', 'get', 'kate')
        check('class default' in out, 'nothing of the bad file applied: '
              '%r' % out)
        for words, want in ((('limit', 'set', 'x', '-5'), 'bad cap'),
                            (('limit', 'set', 'x', 'abc/day'), 'abc'),
                            (('limit', 'get'), 'account'),
                            (('limit', 'top', 'zero'), 'N is')):
            rc, out, err = ctl(s, *words)
            check(rc != 0 and want in err, '%s: %r' % (' '.join(words), err))
        rc, out, _ = ctl(s, 'limit', 'top', '3')
        check(rc == 0 and out.splitlines()[0].startswith('hank 4 '),
              'top: %r' % out)
    with Sakimori(options('s5'), config_text=CLASSES) as s:
        check_eq(used(s, 'hank')[0], 4, 'hank after restart')
        replies, _ = send(s, 'hank', rcpts(2))
        check_eq(passed(replies), 1, 'restart gave no fresh cap')
        rc, out, _ = ctl(s, 'limit', 'get', 'judy')
        check('10 recipients per' in out or '/10 ' in out or
              'explicit' in out, 'override kept: %r' % out)


def test_fallback_key_and_bad_account():
    opts = options('s6', limit_fallback='sender')
    with Sakimori(opts, config_text=CLASSES) as s:
        replies, _ = send(s, None, rcpts(6), ip='10.9.9.5',
                          sender='<cron@host.test>')
        check_eq(passed(replies), 5, 'trusted sender counted by MAIL FROM')
        replies, _ = send(s, None, rcpts(6), ip='192.0.2.44',
                          sender='<ext@host.test>')
        check_eq(passed(replies), 6, 'inbound mail is not counted')
        replies, _ = send(s, 'bad\x01name', rcpts(1))
        check(refused(replies[0]) and
              replies[0][1].startswith('451 4.7.0'),
              'an unusable account name is refused, never uncounted: %r' %
              (replies,))


def test_alerts():
    out_file = os.path.join(ENV['dir'], 'alerts.out')
    cmd = 'echo "$SAKIMORI_ACCOUNT $SAKIMORI_EVENT $SAKIMORI_PERCENT" >> %s' \
        % out_file
    opts = options('s7', limit_alert_command=cmd)
    with Sakimori(opts, config_text=CLASSES) as s:
        send(s, 'olga', rcpts(4))   # 80% of 5
        send(s, 'olga', rcpts(2))   # 100%, then refused
        ctl(s, 'limit', 'reset', 'olga')
        send(s, 'olga', rcpts(4))   # 80% again: suppressed (interval)

        def lines():
            try:
                with open(out_file) as f:
                    return f.read().splitlines()
            except OSError:
                return []
        check(wait_for(lambda: len(lines()) >= 2, 10),
              'alerts ran: %r' % lines())
        time.sleep(1)
        check_eq(sorted(lines()), ['olga threshold 100', 'olga threshold 80'],
                 'one alert per account and threshold')


def test_redis_fleet_exact_and_fail_mode():
    with RedisServer(ENV['dir']) as redis:
        ra = options('r1', limit_store='redis', redis_server=redis.address,
                     redis_prefix='lt:')
        rb = options('r2', limit_store='redis', redis_server=redis.address,
                     redis_prefix='lt:')
        with Sakimori(ra, config_text=CLASSES) as a, \
                Sakimori(rb, config_text=CLASSES) as b:
            rc, out, err = ctl(a, 'limit', 'set', 'pat', 'big')
            check_eq(rc, 0, 'set through redis (%s)' % err)
            got = []

            def worker(s):
                for _ in range(8):
                    replies, _ = send(s, 'pat', rcpts(1))
                    with LOCK:
                        got.append(passed(replies))
            threads = [threading.Thread(target=worker, args=(s,))
                       for s in (a, b, a, b, a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            check_eq(sum(got), 40, 'two filters, one redis, cap 40')
            check_eq(used(b, 'pat')[0], 40, 'count seen from b')
            # Redis gone: mail still flows, counted locally.
            redis.stop()
            replies, action = send(a, 'quinn', rcpts(7))
            check_eq(passed(replies), 5, 'redis down: the local count '
                     'holds the same cap')
            check_eq(action, 'accept', 'the message goes on')
            rc, out, _ = ctl(a, 'stats')
            m = re.search(r'limit_local_fallback (\d+)', out)
            check(m and int(m.group(1)) >= 7, 'fallbacks counted: %r' % out)
            check(a.grep(r'limits: redis: .*; fail mode local'),
                  'the outage is logged')
            redis.start()
            check(wait_for(lambda: passed(send(a, 'rita', rcpts(1))[0]) ==
                           1 and redis.cli('EXISTS', 'lt:rl:c:rita') == '1',
                           15),
                  'counts go to redis again once it is back')


if __name__ == '__main__':
    run([
        test_exact_cap_and_reply,
        test_mid_message_and_refunds,
        test_block_and_shadow,
        test_concurrency_one_filter,
        test_restart_keeps_counts_and_ctl,
        test_fallback_key_and_bad_account,
        test_alerts,
        test_redis_fleet_exact_and_fail_mode,
    ], time_limit=300, setup=setup, teardown=teardown)
