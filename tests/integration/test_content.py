#!/usr/bin/env python3
"""test_content - DKIM, DMARC and signing through the milter, against Knot.

Messages are signed by an independent signer (python3-dkim, through
tests/integration/dkim_py.py, run with Debian's /usr/bin/python3) with
the keys in tests/keys, whose public halves tests/zones/dkim.test.zone
publishes; _dmarc.dkim.test asks for p=reject. sakimori's own
signatures are checked by python3-dkim's verifier. Every test asserts
what a postmaster sees: the replies, the header fields added, the log.
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import milterfix  # noqa: E402
from milterfix import our_ar, strip_comments  # noqa: E402
from milter_client import MilterClient  # noqa: E402
from runner import TOP, check, check_eq, run  # noqa: E402
from sakimori_proc import Sakimori  # noqa: E402

AUTHSERV = 'mx.test'
AR = 'Authentication-Results'
RCPT = '<postmaster@mx.test>'
PYTHON = '/usr/bin/python3'  # Debian's, with python3-dkim and python3-nacl
DKIM_PY = os.path.join(TOP, 'tests', 'integration', 'dkim_py.py')
KEYS = os.path.join(TOP, 'tests', 'keys')
ENV = {}

BODY = b'Hello,\r\n\r\nthis is a test message.\r\n'
HEADERS = [
    ('From', 'Alice <alice@dkim.test>'),
    ('To', 'Bob <bob@mx.test>'),
    ('Subject', 'DKIM test'),
    ('Date', 'Sun, 22 Nov 2026 01:00:00 +0000'),
    ('Message-ID', '<test-1@dkim.test>'),
]


# -- fixtures ---------------------------------------------------------------

def base_options(**extra):
    opts = {
        'authserv_id': AUTHSERV,
        'dns_nameservers': [ENV['knot'].server()],
        'dns_timeout': 1000,
        'dns_retries': 0,
        'trusted_networks': ['10.9.9.0/24'],
    }
    opts.update(extra)
    return opts


def key_copy(name):
    """key_copy - a test key with the mode a key file must have (0600)

    git keeps no modes but the executable bit: a fresh clone has the keys
    world-readable, which sakimori rightly refuses.
    """
    dst = os.path.join(ENV['dir'], name)
    if not os.path.exists(dst):
        shutil.copyfile(os.path.join(KEYS, name), dst)
        os.chmod(dst, 0o600)
    return dst


def keytable(lines):
    """keytable - write a key table file; returns its path"""
    path = os.path.join(ENV['dir'], 'keytable%d' % next_id())
    with open(path, 'w') as f:
        f.write('# test key table\n' + ''.join(l + '\n' for l in lines))
    return path


def setup():
    milterfix.start(ENV, 'test_content', base_options)


def teardown():
    milterfix.stop(ENV)


COUNTER = [0]


def next_id():
    COUNTER[0] += 1
    return COUNTER[0]


# -- helpers ---------------------------------------------------------------

def wire(headers, body):
    """wire - the message as bytes, CRLF line ends"""
    text = ''.join('%s: %s\r\n' % (n, v) for n, v in headers)
    return text.encode() + b'\r\n' + body


def parse(data):
    """parse - (headers, body) from bytes; folded values kept folded"""
    head, _, body = data.partition(b'\r\n\r\n')
    headers = []
    for line in head.decode().split('\r\n'):
        if line[:1] in (' ', '\t') and headers:
            n, v = headers[-1]
            headers[-1] = (n, v + '\r\n' + line)
        else:
            n, _, v = line.partition(':')
            headers.append((n, v[1:] if v.startswith(' ') else v))
    return headers, body


def dkim_sign(headers, body, selector='rsa2048', domain='dkim.test',
              key='rsa2048.pem', alg='rsa-sha256', canon='relaxed/relaxed',
              extra=()):
    """dkim_sign - sign with python3-dkim; returns (headers, body)"""
    keyfile = os.path.join(KEYS, key)
    cmd = [PYTHON, DKIM_PY, 'sign', selector, domain, keyfile, '--alg', alg,
           '--canon', canon] + list(extra)
    out = subprocess.run(cmd, input=wire(headers, body), check=True,
                         stdout=subprocess.PIPE).stdout
    return parse(out)


def send(s, headers, body, sender='<alice@dkim.test>', ip='192.0.2.10',
         helo='pass.spf.test', auth=None, qid=None):
    """send - one message in a fresh session; returns message() output"""
    macros = {'i': qid or 'CQ%d' % next_id()}
    if auth is not None:
        macros['{auth_authen}'] = auth
    c = MilterClient('127.0.0.1', s.port, timeout=30)
    try:
        c.negotiate()
        c.connect('[%s]' % ip, ip)
        c.helo(helo)
        # The client sends headers without the CR of folded lines, as
        # libmilter hands them on.
        hs = [(n, v.replace('\r\n', '\n')) for n, v in headers]
        out = c.message(sender, [RCPT], headers=hs, body=body,
                        mail_macros=macros)
        out['qid'] = macros['i']
        return out
    finally:
        c.close()


def entries(out, method):
    """entries - the method=... entries of our A-R, comments removed"""
    parts = strip_comments(our_ar(out)[1]).split('; ')
    return [p for p in parts if p.startswith(method + '=')]


def accepted(out, what):
    check(out['stage'] == 'eom' and out['action'] in ('accept', 'continue'),
          '%s: got %r, want accepted at eom' %
          (what, (out['stage'], out['action'], out['text'])))


def b_prefix(headers):
    """b_prefix - first 8 characters of the first DKIM-Signature's b="""
    for n, v in headers:
        if n.lower() == 'dkim-signature':
            m = re.search(r'(?:^|;)\s*b=([^;]*)', re.sub(r'\s+', '', v))
            return m.group(1)[:8]
    return None


def pvalue(v):
    """pvalue - how RFC 8601 writes a value: a token bare, else quoted"""
    if re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-.^_`{|}~]+", v):
        return v
    return '"%s"' % v


# -- DKIM verification -------------------------------------------------------

def test_dkim_pass_rsa_and_ed25519():
    cases = [
        ('rsa2048', 'rsa2048.pem', 'rsa-sha256', 'relaxed/relaxed'),
        ('rsa1024', 'rsa1024.pem', 'rsa-sha256', 'simple/simple'),
        ('ed25519', 'ed25519.seed', 'ed25519-sha256', 'relaxed/simple'),
    ]
    for sel, key, alg, canon in cases:
        h, b = dkim_sign(HEADERS, BODY, sel, key=key, alg=alg, canon=canon)
        out = send(ENV['s'], h, b)
        accepted(out, sel)
        want = ('dkim=pass header.d=dkim.test header.s=%s header.b=%s' %
                (sel, pvalue(b_prefix(h))))
        check_eq(entries(out, 'dkim'), [want], '%s %s A-R' % (sel, canon))


def test_dkim_fail_changed_body_and_header():
    h, b = dkim_sign(HEADERS, BODY)
    out = send(ENV['s'], h, b.replace(b'test', b'tost'))
    got = entries(out, 'dkim')
    check(len(got) == 1 and got[0].startswith('dkim=fail header.d=dkim.test'),
          'changed body: got %r, want dkim=fail' % got)
    check('body' in our_ar(out)[1],
          'changed body: got %r, want a reason naming the body' % our_ar(out)[1])
    h2 = [(n, 'DKIM test, changed' if n == 'Subject' else v) for n, v in h]
    out = send(ENV['s'], h2, b)
    got = entries(out, 'dkim')
    check(len(got) == 1 and got[0].startswith('dkim=fail'),
          'changed Subject: got %r, want dkim=fail' % got)


def ctl_stats():
    """ctl_stats - sakimori-ctl stats as a dict of ints"""
    rc, out = ENV['s'].control('stats')
    check_eq(rc, 0, 'sakimori-ctl stats exit status')
    return {k: int(v) for k, v in (line.split() for line in out.splitlines()
                                   if len(line.split()) == 2)}


def test_dkim_key_decoded_once():
    """a key used again is not decoded again, and results stay the same"""
    h, b = dkim_sign(HEADERS, BODY, 'rsa2048')
    send(ENV['s'], h, b)
    before = ctl_stats()
    for i in range(3):
        out = send(ENV['s'], h, b)
        check(entries(out, 'dkim')[0].startswith('dkim=pass'),
              'message %d with a cached key: got %r' % (i, entries(out, 'dkim')))
    out = send(ENV['s'], h, b.replace(b'test', b'tost'))
    check(entries(out, 'dkim')[0].startswith('dkim=fail'),
          'changed body with a cached key: got %r' % entries(out, 'dkim'))
    after = ctl_stats()
    check_eq(after['dkim_key_cache_hits'] - before['dkim_key_cache_hits'], 4,
             'key cache hits over four verifications with one key')
    check_eq(after['dkim_key_cache_misses'], before['dkim_key_cache_misses'],
             'key decodes over four verifications with one cached key')


def test_dkim_none_and_mixed():
    out = send(ENV['s'], HEADERS, BODY)
    check_eq(entries(out, 'dkim'), ['dkim=none'], 'unsigned message')
    h, b = dkim_sign(HEADERS, BODY, 'rsa2048')
    h, b = dkim_sign(h, b, 'missing', key='rsa2048.pem')
    out = send(ENV['s'], h, b)
    got = [e.split(' ')[0] + ' ' + e.split(' ')[2] for e in
           entries(out, 'dkim')]
    check_eq(sorted(got), ['dkim=pass header.s=rsa2048',
                           'dkim=permerror header.s=missing'],
             'two signatures, one key missing')


def test_dkim_policy_results_in_log():
    h, b = dkim_sign(HEADERS, BODY)
    out = send(ENV['s'], h, b)
    line = ENV['s'].wait_log(r'%s: client=' % out['qid'])
    check('dkim=pass dkim.sigs=d=dkim.test:pass' in line,
          'log: got %r, want dkim=pass and the signature list' % line)


# -- DMARC -------------------------------------------------------------------

def test_dmarc_pass_via_dkim():
    h, b = dkim_sign(HEADERS, BODY)
    # MAIL FROM in another domain: only DKIM can align.
    out = send(ENV['s'], h, b, sender='<bounce@pass.spf.test>')
    accepted(out, 'aligned DKIM')
    check_eq(entries(out, 'dmarc'), ['dmarc=pass header.from=dkim.test'],
             'DMARC via DKIM')
    check('(p=reject dis=none)' in our_ar(out)[1],
          'A-R: got %r, want the comment (p=reject dis=none)' % our_ar(out)[1])
    line = ENV['s'].wait_log(r'%s: client=' % out['qid'])
    check('dmarc=pass dmarc.from=dkim.test dmarc.policy=reject '
          'dmarc.disposition=none dmarc.aligned=dkim' in line,
          'log: got %r, want the DMARC fields' % line)


def test_dmarc_fail_default_tags():
    h, b = dkim_sign(HEADERS, BODY)
    out = send(ENV['s'], h, b.replace(b'test', b'tost'),
               sender='<bounce@pass.spf.test>')
    accepted(out, 'DMARC fail under the default policy')
    check_eq(entries(out, 'dmarc'), ['dmarc=fail header.from=dkim.test'],
             'DMARC fail')
    check('(p=reject dis=reject)' in our_ar(out)[1],
          'A-R: got %r, want (p=reject dis=reject)' % our_ar(out)[1])
    tags = [m for m in out['mods'] if m[0] == 'addheader' and
            m[-2] == 'X-Sakimori-Tag']
    check_eq([t[-1] for t in tags], ['dmarc=fail'], 'tag header')


def test_dmarc_fail_reject_and_quarantine():
    h, b = dkim_sign(HEADERS, BODY)
    bad = b.replace(b'test', b'tost')
    with Sakimori(base_options(dmarc_reject='reject')) as s:
        out = send(s, h, bad, sender='<bounce@pass.spf.test>')
        check_eq((out['stage'], out['action']), ('eom', 'replycode'),
                 'dmarc_reject=reject')
        check(out['text'].startswith('550 5.7.1 ') and
              'dkim.test' in out['text'],
              'reply: got %r, want 550 5.7.1 naming dkim.test' % out['text'])
        out = send(s, h, b, sender='<bounce@pass.spf.test>')
        accepted(out, 'same policy, intact message')
    with Sakimori(base_options(dmarc_reject='quarantine')) as s:
        out = send(s, h, bad, sender='<bounce@pass.spf.test>')
        accepted(out, 'dmarc_reject=quarantine')
        q = [m for m in out['mods'] if m[0] == 'quarantine']
        check(len(q) == 1 and 'dmarc' in q[0][-1],
              'quarantine: got %r, want one naming dmarc' % out['mods'])


def test_dmarc_from_missing_or_doubled():
    no_from = [(n, v) for n, v in HEADERS if n != 'From']
    out = send(ENV['s'], no_from, BODY)
    check_eq(entries(out, 'dmarc'), ['dmarc=permerror'], 'no From field')
    check('no From field' in our_ar(out)[1],
          'A-R: got %r, want the reason' % our_ar(out)[1])
    two = HEADERS + [('From', 'mallory@pass.spf.test')]
    out = send(ENV['s'], two, BODY)
    check_eq(entries(out, 'dmarc'), ['dmarc=permerror'], 'two From fields')
    check('several From fields' in our_ar(out)[1],
          'A-R: got %r, want the reason' % our_ar(out)[1])


def test_forged_dkim_pass_removed():
    forged = [(AR, 'mx.test; dkim=pass header.d=dkim.test')] + HEADERS
    out = send(ENV['s'], forged, BODY)
    dels = [m for m in out['mods'] if m[0] == 'chgheader']
    check_eq(dels, [('chgheader', 1, AR, '')], 'forged dkim=pass removed')
    check_eq(entries(out, 'dkim'), ['dkim=none'], 'our own verdict')


# -- signing -----------------------------------------------------------------

def signed_message(out, headers, body):
    """signed_message - the message as the MTA will store it"""
    sigs = [m for m in out['mods'] if m[0] == 'insheader' and
            m[2] == 'DKIM-Signature']
    check_eq(len(sigs), 1, 'one DKIM-Signature inserted (mods %r)' %
             (out['mods'],))
    value = sigs[0][3].replace('\r\n', '\n').replace('\n', '\r\n')
    return wire([('DKIM-Signature', value)] + headers, body)


def independent_verify(data):
    path = os.path.join(ENV['dir'], 'signed%d.eml' % next_id())
    with open(path, 'wb') as f:
        f.write(data)
    port = ENV['knot'].server().split('@')[1]
    r = subprocess.run([PYTHON, DKIM_PY, 'verify', port, path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.stdout.decode().strip(), r.stderr.decode()


def test_sign_outbound_verifies_independently():
    kt = keytable(['dkim.test rsa2048 %s' % key_copy('rsa2048.pem'),
                   'other.test ed25519 %s' % key_copy('ed25519.pem')])
    with Sakimori(base_options(dkim_keytable=kt)) as s:
        out = send(s, HEADERS, BODY, auth='alice')
        accepted(out, 'authenticated submission')
        got, err = independent_verify(signed_message(out, HEADERS, BODY))
        check_eq(got, 'pass', 'python3-dkim verifies our rsa signature '
                 '(stderr %r)' % err)
        line = s.wait_log(r'%s: client=' % out['qid'])
        check('signed=dkim.test' in line, 'log: got %r' % line)
        # Trusted network: signed too.
        out = send(s, HEADERS, BODY, ip='10.9.9.7')
        got, err = independent_verify(signed_message(out, HEADERS, BODY))
        check_eq(got, 'pass', 'trusted client, signature verifies')
        # Inbound mail is never signed.
        out = send(s, HEADERS, BODY)
        check([m for m in out['mods'] if m[0] == 'insheader' and
               m[2] == 'DKIM-Signature'] == [],
              'inbound: got %r, want no signature' % out['mods'])
    # Ed25519 (RFC 8463): our own signer, checked the same way, several
    # messages through one daemon (the ASan pass would see a leak).
    kt = keytable(['dkim.test ed25519 %s' % key_copy('ed25519.pem')])
    with Sakimori(base_options(dkim_keytable=kt)) as s:
        for i in range(5):
            body = BODY + b'message %d\r\n' % i
            out = send(s, HEADERS, body, auth='alice')
            data = signed_message(out, HEADERS, body)
            check(b'a=ed25519-sha256' in data,
                  'ed25519 signature: got %r' % data[:300])
            got, err = independent_verify(data)
            check_eq(got, 'pass', 'python3-dkim verifies our ed25519 '
                     'signature %d (stderr %r)' % (i, err))


def test_sign_never_twice_and_no_key():
    kt = keytable(['dkim.test rsa2048 %s' % key_copy('rsa2048.pem')])
    with Sakimori(base_options(dkim_keytable=kt)) as s:
        h, b = dkim_sign(HEADERS, BODY)
        out = send(s, h, b, auth='alice')
        check([m for m in out['mods'] if m[0] == 'insheader' and
               m[2] == 'DKIM-Signature'] == [],
              'already signed: got %r, want no second signature' %
              out['mods'])
        line = s.wait_log(r'%s: client=' % out['qid'])
        check('already signed by dkim.test' in line, 'log: got %r' % line)
        other = [('From', 'carol@nokey.test')] + HEADERS[1:]
        out = send(s, other, BODY, auth='carol')
        accepted(out, 'no key for the From domain')
        line = s.wait_log(r'%s: client=' % out['qid'])
        check('no key for nokey.test' in line, 'log: got %r' % line)


def test_bad_key_refused_at_start_and_reload():
    loose = os.path.join(ENV['dir'], 'loose.pem')
    shutil.copyfile(os.path.join(KEYS, 'rsa2048.pem'), loose)
    os.chmod(loose, 0o644)
    short = key_copy('rsa512.pem')
    for path, why in ((loose, 'loose.pem'), (short, '512')):
        kt = keytable(['dkim.test rsa2048 %s' % path])
        exe = os.path.join(os.environ.get('BUILD', 'build'), 'sakimori')
        r = subprocess.run([exe, '-t', '-o', 'dkim_keytable=%s' % kt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = r.stderr.decode()
        check(r.returncode == 78 and 'dkim_keytable' in err and why in err,
              'sakimori -t with %s: got exit %d %r, want 78 naming it' %
              (path, r.returncode, err))
    good = keytable(['dkim.test rsa2048 %s' % key_copy('rsa2048.pem')])
    with Sakimori(base_options(), config_text='dkim_keytable = "%s"\n' %
                  good) as s:
        bad = keytable(['dkim.test rsa2048 %s' % short])
        rc, text = s.reload(config_text='dkim_keytable = "%s"\n' % bad)
        check(rc != 0 and '512' in text,
              'reload with a short key: got %d %r, want refused' % (rc, text))
        out = send(s, HEADERS, BODY, auth='alice')
        signed_message(out, HEADERS, BODY)


if __name__ == '__main__':
    run([
        test_dkim_pass_rsa_and_ed25519,
        test_dkim_fail_changed_body_and_header,
        test_dkim_key_decoded_once,
        test_dkim_none_and_mixed,
        test_dkim_policy_results_in_log,
        test_dmarc_pass_via_dkim,
        test_dmarc_fail_default_tags,
        test_dmarc_fail_reject_and_quarantine,
        test_dmarc_from_missing_or_doubled,
        test_forged_dkim_pass_removed,
        test_sign_outbound_verifies_independently,
        test_sign_never_twice_and_no_key,
        test_bad_key_refused_at_start_and_reload,
    ], time_limit=180, setup=setup, teardown=teardown)
