#!/usr/bin/env python3
"""test_fleet - pushed lists shared by a fleet through a real Redis.

Two sakimori processes and one redis-server on loopback. A push to one
filter is live on the other within seconds; a delta and a rollback travel
the same way; a filter that was down catches up when it starts; with
Redis stopped, pushes still work locally and the fleet picks up again
when Redis is back; a signed list verifies the maintainer's signature on
every filter, so a change cannot be slipped in through Redis.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redis_server import RedisServer  # noqa: E402
from runner import check, check_eq, mkdtemp, run, wait_for  # noqa: E402
from sakimori_proc import Sakimori  # noqa: E402

ENV = {}

CONFIG = '''
list "blocked" {
	kind = ip
	fields = {client_ip}
	action = reject
}
'''


def options(name, redis):
    return {
        'authserv_id': 'mx.test',
        'state_dir': os.path.join(ENV['dir'], name),
        'redis_server': redis.address,
        'redis_prefix': 'fleettest:',
        'dns_nameservers': ['127.0.0.1@1'],
    }


def setup():
    ENV['dir'] = mkdtemp('test_fleet')


def teardown():
    pass


def ctl(s, *words):
    r = subprocess.run([s.ctl, '-s', s.socket] + list(words),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def show(s, name='blocked'):
    rc, out, _ = ctl(s, 'list', 'show', name)
    if rc != 0:
        return {}
    return dict(line.split(' ', 1) for line in out.splitlines()
                if ' ' in line)


def write(name, text):
    path = os.path.join(ENV['dir'], name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def same_on(s, checksum, timeout=10.0):
    """same_on - wait until s serves the list with this checksum"""
    return wait_for(lambda: show(s).get('checksum') == checksum, timeout)


def test_push_reaches_the_fleet():
    with RedisServer(ENV['dir']) as redis, \
            Sakimori(options('a', redis), config_text=CONFIG) as a, \
            Sakimori(options('b', redis), config_text=CONFIG) as b:
        path = write('l1', '192.0.2.50 botnet\n198.51.100.0/24\n')
        rc, out, err = ctl(a, 'list', 'push', 'blocked', path)
        check_eq(rc, 0, 'push on a (%s)' % err)
        want = show(a)['checksum']
        check(same_on(b, want), 'b serves the push made on a: %r' % show(b))
        vb = show(b)
        check(vb['who'].startswith('fleet:') and vb['version'] == '2',
              'b names the fleet and the version: %r' % vb)
        rc, out, _ = ctl(b, 'list', 'test', 'client_ip', '192.0.2.50')
        check('hit blocked' in out, 'b answers from the pushed list: %r' %
              out)
        # A delta on b reaches a.
        rc, out, err = ctl(b, 'list', 'add', 'blocked', '203.0.113.9 new')
        check_eq(rc, 0, 'add on b (%s)' % err)
        want = show(b)['checksum']
        check(same_on(a, want), 'a serves the delta made on b')
        check_eq(show(a)['version'], '3', 'version on a after the delta')
        # A rollback on a reaches b.
        rc, out, err = ctl(a, 'list', 'rollback', 'blocked')
        check_eq(rc, 0, 'rollback on a (%s)' % err)
        want = show(a)['checksum']
        check(same_on(b, want), 'b follows the rollback made on a')
        check_eq(show(b)['version'], '2', 'version on b after rollback')
        # What Redis holds is what a pushed last.
        check_eq(redis.cli('HGET', 'fleettest:list:blocked', 'version'), '2',
                 'version stored in redis')


def test_down_filter_catches_up():
    with RedisServer(ENV['dir']) as redis, \
            Sakimori(options('c', redis), config_text=CONFIG) as c:
        b = Sakimori(options('d', redis), config_text=CONFIG)
        b.start()
        b.stop()
        path = write('l2', '192.0.2.60 pushed while d was down\n')
        rc, out, err = ctl(c, 'list', 'push', 'blocked', path)
        check_eq(rc, 0, 'push on c (%s)' % err)
        want = show(c)['checksum']
        with Sakimori(options('d', redis), config_text=CONFIG) as d:
            check(same_on(d, want), 'd caught up at start: %r' % show(d))


def test_redis_down_and_back():
    redis = RedisServer(ENV['dir'])
    redis.start()
    try:
        with Sakimori(options('e', redis), config_text=CONFIG) as e, \
                Sakimori(options('f', redis), config_text=CONFIG) as f:
            redis.stop()
            path = write('l3', '192.0.2.70 local only\n')
            rc, out, err = ctl(e, 'list', 'push', 'blocked', path)
            check_eq(rc, 0, 'push with redis down still works (%s)' % err)
            rc, out, _ = ctl(e, 'list', 'test', 'client_ip', '192.0.2.70')
            check('hit blocked' in out, 'the push is live on e: %r' % out)
            check(e.wait_log(r'fleet: list blocked: not shared', 5),
                  'e says the change stayed local')
            check(f.running() and e.running(), 'both filters alive')
            redis.start()
            path = write('l4', '192.0.2.71 after redis came back\n')
            check(f.wait_log(r'fleet: redis .*: connection lost', 5),
                  'f says it lost redis')
            # The listeners reconnect within seconds and catch up; a push
            # travels again.
            rc, out, err = ctl(e, 'list', 'push', 'blocked', path)
            check_eq(rc, 0, 'push after redis is back (%s)' % err)
            check(same_on(f, show(e)['checksum'], 15),
                  'f gets the push once redis is back: %r' % show(f))
    finally:
        redis.stop()


def test_signed_list_through_the_fleet():
    keyfile = os.path.join(ENV['dir'], 'fleet.key')
    exe = os.path.join(os.environ.get('BUILD', 'build'), 'sakimori-ctl')
    r = subprocess.run([exe, '-k', keyfile, 'list', 'keygen'],
                       capture_output=True, text=True, timeout=30)
    check_eq(r.returncode, 0, 'keygen (%s)' % r.stderr)
    config = '''
list "blocked" {
	kind = ip
	fields = {client_ip}
	action = reject
	signed_by = "%s"
}
''' % r.stdout.strip()
    body = write('signed', '192.0.2.80 signed entry\n')
    sig = subprocess.run([exe, 'list', 'sign', keyfile, 'ip', 'blocked',
                          '7', body], capture_output=True, text=True,
                         timeout=30).stdout.strip()
    with RedisServer(ENV['dir']) as redis, \
            Sakimori(options('g', redis), config_text=config) as g, \
            Sakimori(options('h', redis), config_text=config) as h:
        rc, out, err = ctl(g, 'list', 'push', 'blocked', body, 'version=7',
                           'signature=' + sig)
        check_eq(rc, 0, 'signed push on g (%s)' % err)
        check(same_on(h, show(g)['checksum']),
              'h verified and took the signed list: %r' % show(h))
        # Someone with write access to Redis swaps the content: every
        # filter checks the maintainer's signature and refuses it.
        redis.cli('HSET', 'fleettest:list:blocked', 'data',
                  '192.0.2.81 forged\n', 'version', '8', 'origin', 'evil')
        seq = redis.cli('INCR', 'fleettest:seq:blocked')
        redis.cli('HSET', 'fleettest:list:blocked', 'seq', seq)
        redis.cli('PUBLISH', 'fleettest:lists', 'blocked %s evil' % seq)
        check(wait_for(lambda: h.grep(r'fleet: list blocked: change %s '
                                      r'from evil refused: blocked: '
                                      r'signature refused' % seq), 10),
              'h refuses the forged change')
        rc, out, _ = ctl(h, 'list', 'test', 'client_ip', '192.0.2.81')
        check('miss blocked' in out, 'the forged entry is not live: %r' %
              out)
        check_eq(show(h)['version'], '7', 'h keeps the signed version')


if __name__ == '__main__':
    run([
        test_push_reaches_the_fleet,
        test_down_filter_catches_up,
        test_redis_down_and_back,
        test_signed_list_through_the_fleet,
    ], time_limit=240, setup=setup, teardown=teardown)
