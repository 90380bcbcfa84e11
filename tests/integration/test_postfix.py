#!/usr/bin/env python3
"""test_postfix - sakimori behind a real Postfix, mail sent with swaks.

Knot serves tests/zones, sakimori (spf_fail=reject) asks it, a private
Postfix (tests/integration/postfix.py) calls sakimori for every SMTP
session. swaks presents documentation client addresses with XCLIENT:
    192.0.2.10  authorized for pass.spf.test, iprev pass
    192.0.2.99  not authorized for anything
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from knot import Knot  # noqa: E402
from postfix import Postfix, header_values  # noqa: E402
from runner import (TOP, Skip, check, check_eq, mkdtemp, run,  # noqa
                    wait_for)
from sakimori_proc import Sakimori, free_port  # noqa: E402

AUTHSERV = 'mx.test'
ENV = {}


def setup():
    for tool in ('postfix', 'swaks'):
        if shutil.which(tool) is None and not os.path.exists(
                '/usr/sbin/' + tool):
            raise Skip('%s is not installed' % tool)
    ENV['dir'] = mkdtemp('test_postfix')
    ENV['knot'] = Knot(os.path.join(TOP, 'tests', 'zones'),
                       os.path.join(ENV['dir'], 'knot'))
    ENV['knot'].start()
    ENV['s'] = Sakimori({
        'authserv_id': AUTHSERV,
        'dns_nameservers': [ENV['knot'].server()],
        'dns_timeout': 1000,
        'spf_fail': 'reject',
        'trusted_networks': ['10.9.9.0/24'],
    })
    ENV['s'].start()
    ENV['pf'] = Postfix(milter_port=ENV['s'].port)
    ENV['pf'].start()


def teardown():
    errors = []
    for key in ('pf', 's', 'knot'):
        if key in ENV:
            try:
                ENV[key].stop()
            except Exception as e:
                errors.append('%s: %s' % (key, e))
    if 'dir' in ENV:
        shutil.rmtree(ENV['dir'], ignore_errors=True)
    check(not errors, '; '.join(errors))


def delivered_with(pf, marker):
    """delivered_with - the delivered message whose body has marker"""
    def find():
        for m in pf.messages():
            if marker.encode() in m:
                return m
        return None
    msg = wait_for(find, 20)
    check(msg is not None, 'delivery: got no message with %r, want one; '
          'maillog tail:\n%s' % (marker, pf.log_tail()))
    return msg


def ours(values):
    """ours - A-R values whose authserv-id is ours (case-insensitive)"""
    return [v for v in values
            if re.match(r'\s*%s\s*;' % re.escape(AUTHSERV), v, re.I)]


def test_pass_delivered_with_ar():
    pf, s = ENV['pf'], ENV['s']
    mark = s.mark()
    rc, out = pf.swaks('alice@pass.spf.test', 'bob@mx.test',
                       addr='192.0.2.10', helo='pass.spf.test',
                       body='marker-pass')
    check_eq(rc, 0, 'swaks exit (transcript tail: %s)' % out[-600:])
    msg = delivered_with(pf, 'marker-pass')
    ars = ours(header_values(msg, 'Authentication-Results'))
    check_eq(len(ars), 1, 'our A-R headers in %r' % ars)
    ar = ars[0]
    for want in ('spf=pass', 'smtp.mailfrom=alice@pass.spf.test',
                 'iprev=pass', 'policy.iprev=192.0.2.10'):
        check(want in ar, 'stored A-R: got %r, want %r in it' % (ar, want))
    # The milter judged the XCLIENT address, not 127.0.0.1 (Postfix
    # connects the milter with the real peer first, then again after
    # XCLIENT with the new attributes).
    line = s.wait_log(r'from=<alice@pass\.spf\.test>.*stage=', 5, since=mark)
    check('client=192.0.2.10 ' in line and 'helo="pass.spf.test"' in line,
          'sakimori summary: got %r, want client=192.0.2.10 and the '
          'XCLIENT HELO' % line)


def test_forged_ar_removed():
    pf = ENV['pf']
    forged = 'mx.test; spf=pass smtp.mailfrom=ceo@forged.example'
    foreign = 'other.example; spf=none smtp.mailfrom=x@other.example'
    rc, out = pf.swaks('alice@pass.spf.test', 'bob@mx.test',
                       addr='192.0.2.10', helo='pass.spf.test',
                       body='marker-forged',
                       headers=[('Authentication-Results', forged),
                                ('Authentication-Results', foreign),
                                ('Authentication-Results',
                                 'MX.Test; dkim=pass header.d=forged')])
    check_eq(rc, 0, 'swaks exit (transcript tail: %s)' % out[-600:])
    msg = delivered_with(pf, 'marker-forged')
    values = header_values(msg, 'Authentication-Results')
    mine = ours(values)
    check_eq(len(mine), 1, 'A-R headers with our authserv-id (%r)' % values)
    check('forged' not in mine[0],
          'stored A-R: got %r, want the forged one gone' % mine[0])
    check(foreign in values, 'foreign A-R: got %r, want %r kept' %
          (values, foreign))


def test_spf_fail_rejected():
    pf = ENV['pf']
    rc, out = pf.swaks('alice@fail.spf.test', 'bob@mx.test',
                       addr='192.0.2.99', helo='client.fail.example',
                       body='marker-fail')
    check(rc != 0, 'swaks exit: got 0, want non-zero (refused)')
    m = re.search(r'^<\*\*\s+(550[ -]5\.7\.23 .*)$', out, re.M)
    check(m is not None, 'SMTP reply: got %r, want 550 5.7.23' %
          [l for l in out.splitlines() if l.startswith('<')][-4:])
    check('not allowed to send mail for fail.spf.test' in m.group(1),
          'reply text: got %r, want the SPF explanation' % m.group(1))
    check(not any(b'marker-fail' in x for x in pf.messages()),
          'delivery: got the refused message delivered, want none')


def test_dkim_dmarc_pass_delivered():
    from test_content import BODY, HEADERS, dkim_sign, wire
    pf = ENV['pf']
    headers, body = dkim_sign(HEADERS, BODY + b'marker-dkim\r\n')
    path = os.path.join(ENV['dir'], 'signed.eml')
    with open(path, 'wb') as f:
        f.write(wire(headers, body))
    # MAIL FROM in another domain: DMARC can only pass through DKIM.
    rc, out = pf.swaks('bounce@pass.spf.test', 'bob@mx.test',
                       addr='192.0.2.10', helo='pass.spf.test',
                       extra=['--data', path])
    check_eq(rc, 0, 'swaks exit (transcript tail: %s)' % out[-600:])
    msg = delivered_with(pf, 'marker-dkim')
    ars = ours(header_values(msg, 'Authentication-Results'))
    check_eq(len(ars), 1, 'our A-R headers in %r' % ars)
    for want in ('dkim=pass header.d=dkim.test header.s=rsa2048',
                 'dmarc=pass (p=reject dis=none) header.from=dkim.test'):
        check(want in ars[0], 'stored A-R: got %r, want %r in it' %
              (ars[0], want))


def test_dead_milter_tempfails():
    # milter_default_action = tempfail: no filter, no mail accepted.
    with Postfix(milter_port=free_port()) as pf:
        rc, out = pf.swaks('alice@pass.spf.test', 'bob@mx.test',
                           addr='192.0.2.10', helo='pass.spf.test',
                           body='marker-dead')
        check(rc != 0, 'swaks with the milter down: got exit 0, want a '
              'refusal')
        check(re.search(r'^<\*\*\s+4\d\d', out, re.M) is not None,
              'reply with the milter down: got %r, want 4xx' %
              [l for l in out.splitlines() if l.startswith('<')][-3:])
        check_eq(pf.messages(), [], 'messages delivered with milter down')


if __name__ == '__main__':
    if os.geteuid() != 0:
        print('skip test_postfix: needs root to run a Postfix instance')
        print('0 passed, 0 failed')
        sys.exit(0)
    run([test_pass_delivered_with_ar, test_forged_ar_removed,
         test_spf_fail_rejected, test_dkim_dmarc_pass_delivered,
         test_dead_milter_tempfails],
        time_limit=180, setup=setup, teardown=teardown)
