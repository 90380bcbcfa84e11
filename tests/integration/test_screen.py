#!/usr/bin/env python3
"""test_screen - DNSBL and RHSBL zones through the milter, against Knot.

The zones are those of tests/zones/dnsbl.test.zone (names and codes in
tests/zones/README.md, "DNSBL cases"):
    192.0.2.99    listed in bl.dnsbl.test as 127.0.0.2 (with TXT)
    192.0.2.98    listed as 127.0.0.4 (a range)
    192.0.2.96    answers 127.255.255.254: the query was refused
    192.0.2.10    not listed (and SPF-authorized, iprev pass)
    spam.example.test   listed in dbl.dnsbl.test as 127.0.1.2
Every test asserts what a postmaster sees: the replies, the header
fields added, the log line.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import milterfix  # noqa: E402
from milter_client import MilterClient  # noqa: E402
from runner import check, check_eq, run  # noqa: E402
from sakimori_proc import Sakimori  # noqa: E402

RCPT = '<postmaster@mx.test>'
ENV = {}

ZONES = '''
dnsbl "bl.dnsbl.test" {
	check = client_ip
	code "127.0.0.2" { meaning = "spam source" action = %(bl)s }
	code "127.0.0.4-127.0.0.7" { meaning = "dynamic range" action = tag }
	dry_run = %(dry)s
}
dnsbl "dbl.dnsbl.test" {
	check = %(dbl_check)s
	code "127.0.1.2" { meaning = "spam domain" action = %(dbl)s }
}
'''


def zones(bl='reject', dbl='tag', dbl_check='from', dry='false'):
    return ZONES % {'bl': bl, 'dbl': dbl, 'dbl_check': dbl_check,
                    'dry': dry}


def options():
    return {
        'authserv_id': 'mx.test',
        'dns_nameservers': [ENV['knot'].server()],
        'dns_timeout': 1000,
        'dns_retries': 0,
        'trusted_networks': ['10.9.9.0/24'],
        'iprev_fail': 'accept',
        'spf_fail': 'accept',
        'spf_softfail': 'accept',
    }


def setup():
    milterfix.start(ENV, 'test_screen', options, config_text=zones())


def teardown():
    milterfix.stop(ENV)


COUNTER = [0]


def send(s, ip, sender='<alice@pass.spf.test>', from_hdr='alice@pass.spf.test'):
    COUNTER[0] += 1
    qid = 'BL%d' % COUNTER[0]
    c = MilterClient('127.0.0.1', s.port, timeout=30)
    try:
        c.negotiate()
        c.connect('[%s]' % ip, ip)
        c.helo('pass.spf.test')
        out = c.message(sender, [RCPT], headers=[('From', from_hdr),
                                                 ('Subject', 'hi')],
                        body=b'hello\r\n', mail_macros={'i': qid})
        out['qid'] = qid
        return out
    finally:
        c.close()


def added(out, name):
    return [m[-1] for m in out['mods']
            if m[0] in ('addheader', 'insheader') and m[-2] == name]


def summary(s, out):
    return s.wait_log(r'%s: client=' % out['qid'], 5)


def test_client_listed_rejected_at_rcpt():
    s = ENV['s']
    out = send(s, '192.0.2.99')
    check_eq(out['stage'], 'rcpt', 'listed client refused at')
    text = out['rcpts'][0][1] if out['rcpts'] else out['text']
    check(text is not None and
          text.startswith('550 5.7.1 Listed at bl.dnsbl.test: spam source'),
          'reply: got %r, want 550 5.7.1 naming the zone' % (text,))
    line = s.wait_log(r'client=192\.0\.2\.99 .*dnsbl=bl\.dnsbl\.test:'
                      r'listed:127\.0\.0\.2.*action=reject', 5)
    check('cause=dnsbl' in line, 'log: got %r, want cause=dnsbl' % line)


def test_client_range_tagged_with_header():
    s = ENV['s']
    out = send(s, '192.0.2.98')
    check(out['stage'] == 'eom' and out['action'] in ('accept', 'continue'),
          'range listing (tag): got %r' % ((out['stage'], out['action']),))
    check_eq(added(out, 'X-Sakimori-DNSBL'),
             ['bl.dnsbl.test code=127.0.0.4 (dynamic range)'],
             'X-Sakimori-DNSBL')
    check_eq(added(out, 'X-Sakimori-Tag'), ['dnsbl=bl.dnsbl.test'],
             'tag header')


def test_not_listed_and_refused():
    s = ENV['s']
    out = send(s, '192.0.2.10')
    check_eq(added(out, 'X-Sakimori-DNSBL'), [], 'not listed: DNSBL header')
    check(' dnsbl=' not in summary(s, out),
          'not listed: got %r, want no dnsbl= in the log' % summary(s, out))
    out = send(s, '192.0.2.96')
    check(out['stage'] == 'eom', 'refused query: got %r, want accepted' %
          ((out['stage'], out['action']),))
    check_eq(added(out, 'X-Sakimori-DNSBL'), [], 'refused: DNSBL header')
    check('dnsbl=bl.dnsbl.test:refused' in summary(s, out),
          'refused: got %r' % summary(s, out))


def test_rhsbl_from_domain():
    s = ENV['s']
    out = send(s, '192.0.2.10', from_hdr='Spammer <x@spam.example.test>')
    check_eq(added(out, 'X-Sakimori-DNSBL'),
             ['dbl.dnsbl.test code=127.0.1.2 (spam domain)'],
             'RHSBL on the From domain')


def test_rhsbl_mail_from_reject():
    with Sakimori(options(), config_text=zones(dbl='reject',
                                               dbl_check='mail_from')) as s:
        out = send(s, '192.0.2.10', sender='<x@spam.example.test>')
        check_eq(out['stage'], 'rcpt', 'MAIL FROM domain listed: refused at')
        text = out['rcpts'][0][1] if out['rcpts'] else out['text']
        check(text is not None and 'dbl.dnsbl.test' in text,
              'reply: got %r' % (text,))


def test_dry_run_zone():
    with Sakimori(options(), config_text=zones(dry='true')) as s:
        out = send(s, '192.0.2.99')
        check(out['stage'] == 'eom',
              'dry-run zone: got %r, want accepted' %
              ((out['stage'], out['action']),))
        line = summary(s, out)
        check('dry_run=reject cause=dnsbl' in line,
              'log: got %r, want what would have happened' % line)


def test_dns_down_is_no_listing():
    s = ENV['s']
    ENV['knot'].pause()
    try:
        with Sakimori(dict(options(), dns_timeout=300, dns_budget=2000),
                      config_text=zones()) as s2:
            out = send(s2, '192.0.2.99')
    finally:
        ENV['knot'].resume()
    check(out['stage'] == 'eom',
          'DNS down: got %r, want accepted (temperror never lists)' %
          ((out['stage'], out['action']),))
    check(s.running(), 'shared daemon still running')


# -- local lists ---------------------------------------------------------------

LISTS_CONFIG = '''
list "partners" {
	kind = domain
	file = "%(partners)s"
	fields = {mail_from}
	action = accept
}
list "blocked" {
	kind = ip
	file = "%(blocked)s"
	fields = {client_ip}
	action = reject
}
list "phish" {
	kind = pattern
	file = "%(phish)s"
	fields = {subject}
	action = tag
}
'''


def list_files():
    """list_files - the test lists, written to the work directory"""
    files = {
        'blocked': '# infected hosts\n192.0.2.50 infected host\n'
                   '198.51.100.0/24\n',
        'partners': '.partner.test our partner\n',
        'phish': '/urgent.*password/i phishing subject\n'
                 '/(a+)+$/ catastrophic backtracking\n',
    }
    paths = {}
    for name, text in files.items():
        paths[name] = os.path.join(ENV['dir'], name + '.list')
        with open(paths[name], 'w') as f:
            f.write(text)
    return paths


def send_subject(s, ip, sender, subject):
    COUNTER[0] += 1
    qid = 'LS%d' % COUNTER[0]
    c = MilterClient('127.0.0.1', s.port, timeout=30)
    try:
        c.negotiate()
        c.connect('[%s]' % ip, ip)
        c.helo('pass.spf.test')
        out = c.message(sender, [RCPT], headers=[('From', 'x@pass.spf.test'),
                                                 ('Subject', subject)],
                        body=b'hello\r\n', mail_macros={'i': qid})
        out['qid'] = qid
        return out
    finally:
        c.close()


def rcpt_text(out):
    return out['rcpts'][0][1] if out['rcpts'] else out['text']


def test_local_lists():
    paths = list_files()
    with Sakimori(options(), config_text=LISTS_CONFIG % paths) as s:
        # Blocked address: refused at RCPT, the list and reason named.
        out = send_subject(s, '192.0.2.50', '<a@pass.spf.test>', 'hi')
        check_eq(out['stage'], 'rcpt', 'blocked client refused at')
        text = rcpt_text(out)
        check(text is not None and
              text.startswith('550 5.7.1 Listed at blocked: infected host'),
              'reply: got %r' % (text,))
        # The whitelist beats the blacklist.
        out = send_subject(s, '192.0.2.50', '<a@mail.partner.test>', 'hi')
        check(out['stage'] == 'eom' and
              out['action'] in ('accept', 'continue'),
              'whitelisted sender: got %r, want accepted' %
              ((out['stage'], out['action']),))
        line = summary(s, out)
        check('list=partners:mail_from:.partner.test,blocked:client_ip:'
              '192.0.2.50' in line and ' action=accept' in line and
              'whitelisted=yes would=reject cause=list' in line,
              'log: got %r, want both hits, accept, and what the '
              'blacklist would have done' % line)
        # A pattern on the Subject tags, and says so.
        out = send_subject(s, '192.0.2.10', '<a@pass.spf.test>',
                           'URGENT: confirm your Password now')
        check_eq(added(out, 'X-Sakimori-List'),
                 ['phish field=subject entry=/urgent.*password/i '
                  '(phishing subject)'], 'X-Sakimori-List')
        check_eq(added(out, 'X-Sakimori-Tag'), ['list=phish'], 'tag')
        # Catastrophic backtracking: stopped by the match limit.
        out = send_subject(s, '192.0.2.10', '<a@pass.spf.test>',
                           'a' * 40 + '!')
        check(out['stage'] == 'eom', 'backtracking subject: got %r' %
              ((out['stage'], out['action']),))
        check(s.running(), 'sakimori alive after the backtracking pattern')
        # A reload reads the lists again: the new content is live.
        with open(paths['blocked'], 'w') as f:
            f.write('192.0.2.51 moved\n')
        rc, text = s.reload()
        check_eq(rc, 0, 'reload (%s)' % text)
        out = send_subject(s, '192.0.2.50', '<a@pass.spf.test>', 'hi')
        check(out['stage'] == 'eom', 'after reload, 192.0.2.50: got %r' %
              ((out['stage'], out['action']),))
        # A bad line: the reload is refused with its line; the old list
        # stays live.
        with open(paths['blocked'], 'w') as f:
            f.write('192.0.2.51\n192.0.2.1/8\n')
        rc, text = s.reload()
        check(rc != 0 and 'blocked:2: host bits set' in text,
              'reload with a bad line: got %d %r' % (rc, text))
        out = send_subject(s, '192.0.2.51', '<a@pass.spf.test>', 'hi')
        check_eq(out['stage'], 'rcpt', 'old list still live: refused at')


def start_rbldnsd(work, zone_arg):
    """start_rbldnsd - a real rbldnsd on a free port; returns (proc, port)"""
    import socket
    import subprocess
    import time
    os.chmod(work, 0o755)  # rbldnsd reads its files as user rbldns
    for _ in range(5):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(('127.0.0.1', 0))
            port = u.getsockname()[1]
        cmd = ['/usr/sbin/rbldnsd', '-n', '-b', '127.0.0.1/%d' % port,
               '-w', work, '-t', '60']
        if os.getuid() == 0:
            cmd += ['-u', 'rbldns']  # it refuses to run as root
        proc = subprocess.Popen(cmd + [zone_arg], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end and proc.poll() is None:
            r = subprocess.run(['kdig', '@127.0.0.1', '-p', str(port),
                                '+short', '+timeout=1', '+retry=0',
                                '50.2.0.192.blocked.test', 'A'],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, check=False)
            if b'127.0.0.2' in r.stdout:
                return proc, port
            time.sleep(0.1)
        proc.kill()
        proc.wait()
    raise AssertionError('rbldnsd did not start')


def test_list_control_and_export():
    import subprocess
    paths = list_files()
    with Sakimori(options(), config_text=LISTS_CONFIG % paths) as s:
        rc, out = s.control('list', 'show', 'blocked')
        check(rc == 0 and 'entries 2' in out and 'kind ip' in out and
              'checksum ' in out, 'list show: got %d %r' % (rc, out))
        rc, out = s.control('list', 'test', 'client_ip', '192.0.2.50')
        check(rc == 0 and 'hit blocked entry=192.0.2.50 line=2 '
              'action=reject reason=infected host' in out,
              'list test client_ip: got %d %r' % (rc, out))
        rc, out = s.control('list', 'test', 'subject', 'URGENT:', 'your',
                            'password')
        check(rc == 0 and 'hit phish entry=/urgent.*password/i' in out,
              'list test subject: got %d %r' % (rc, out))
        rc, out = s.control('list', 'show', 'nosuch')
        check(rc != 0 and 'no such list' in out,
              'list show of an unknown list: got %d %r' % (rc, out))
        rc, out = s.control('list', 'test', 'nofield', 'x')
        check(rc != 0 and 'not a field' in out,
              'list test of an unknown field: got %d %r' % (rc, out))
        rc, out = s.control('list', 'export', 'blocked', 'rbldnsd')
        check_eq(rc, 0, 'list export rbldnsd (%r)' % out)
    # The export, served by a real rbldnsd, read back by our DNSBL client.
    work = os.path.join(ENV['dir'], 'rbl')
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, 'blocked')
    with open(data, 'w') as f:
        f.write(out + '\n')
    os.chmod(data, 0o644)
    proc, port = start_rbldnsd(work, 'blocked.test:combined:blocked')
    try:
        tool = os.path.join(os.environ.get('BUILD', 'build'), 'tests',
                            'dnsblcheck')
        for ip, want in (('192.0.2.50', 'listed'),
                         ('198.51.100.7', 'listed'),
                         ('192.0.2.10', 'not_listed')):
            r = subprocess.run([tool, '-s', '127.0.0.1@%d' % port, '-z',
                                'blocked.test', '-k', 'ip', ip],
                               stdout=subprocess.PIPE, text=True)
            check('status=%s ' % want in r.stdout + ' ',
                  'exported list via rbldnsd, %s: got %r, want %s' %
                  (ip, r.stdout, want))
    finally:
        proc.terminate()
        proc.wait()


if __name__ == '__main__':
    run([
        test_client_listed_rejected_at_rcpt,
        test_client_range_tagged_with_header,
        test_not_listed_and_refused,
        test_rhsbl_from_domain,
        test_rhsbl_mail_from_reject,
        test_dry_run_zone,
        test_dns_down_is_no_listing,
        test_local_lists,
        test_list_control_and_export,
    ], time_limit=180, setup=setup, teardown=teardown)
