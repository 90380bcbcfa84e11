#!/usr/bin/env python3
"""test_lists_push - list pushes through the control socket.

What a list maintainer relies on: a push with a bad line is refused with
the line number and the old version keeps answering; deltas add and
delete; rollback returns to the previous version; a restart comes back
with the last pushed version; the audit log says who did what; a signed
list takes only pushes its maintainer signed, never an older version
again; the control socket's mode and group are enforced; and no session
ever sees a list half built or changing under it while pushes go on
(concurrent milter sessions against a push loop).
"""

import os
import pwd
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from milter_client import MilterClient  # noqa: E402
from runner import check, check_eq, mkdtemp, run  # noqa: E402
from sakimori_proc import Sakimori  # noqa: E402

ENV = {}
COUNTER = [0]
LOCK = threading.Lock()


def options(state):
    return {
        'authserv_id': 'mx.test',
        'state_dir': state,
        'trusted_networks': ['10.9.9.0/24'],
        'dns_nameservers': ['127.0.0.1@1'],  # nothing answers: no DNS
        'dns_timeout': 100,
        'dns_retries': 0,
        'dns_budget': 200,
        'spf_helo': 'false',
        'dkim_verify': 'false',
        'dmarc': 'false',
        'iprev_temperror': 'accept',
        'spf_temperror': 'accept',
    }


CONFIG = '''
list "blocked" {
	kind = ip
	file = "%(blocked)s"
	fields = {client_ip}
	action = reject
}
list "swap" {
	kind = address
	fields = {mail_from, rcpt_to}
	action = tag
}
list "hdr" {
	kind = domain
	fields = {rcpt_to, "header:Reply-To"}
	action = tag
}
'''


def setup():
    ENV['dir'] = mkdtemp('test_lists_push')
    ENV['blocked'] = os.path.join(ENV['dir'], 'blocked.list')
    with open(ENV['blocked'], 'w') as f:
        f.write('192.0.2.50 infected host\n')


def teardown():
    pass


def write(name, text):
    path = os.path.join(ENV['dir'], name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def ctl(s, *words, user=None):
    """ctl - sakimori-ctl against s; (exit status, stdout, stderr)"""
    pre = None
    if user is not None:
        pw = pwd.getpwnam(user)

        def pre():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    r = subprocess.run([s.ctl, '-s', s.socket] + list(words),
                       capture_output=True, text=True, timeout=60,
                       preexec_fn=pre)
    return r.returncode, r.stdout, r.stderr


def show(s, name):
    rc, out, err = ctl(s, 'list', 'show', name)
    check_eq(rc, 0, 'list show %s (%s)' % (name, err))
    return dict(line.split(' ', 1) for line in out.splitlines()
                if ' ' in line)


def send(s, ip, sender, rcpts, headers=()):
    with LOCK:
        COUNTER[0] += 1
        qid = 'LP%d' % COUNTER[0]
    c = MilterClient('127.0.0.1', s.port, timeout=30)
    try:
        c.negotiate()
        c.connect('[%s]' % ip, ip)
        c.helo('client.test')
        out = c.message(sender, rcpts,
                        headers=[('From', 'x@client.test'),
                                 ('Subject', 'hi')] + list(headers),
                        body=b'hello\r\n', mail_macros={'i': qid})
        out['qid'] = qid
        return out
    finally:
        c.close()


def list_hits(out):
    return [m[-1] for m in out['mods']
            if m[0] in ('addheader', 'insheader') and
            m[-2] == 'X-Sakimori-List']


def test_push_delta_rollback_restart():
    state = os.path.join(ENV['dir'], 'state1')
    with Sakimori(options(state), config_text=CONFIG % ENV) as s:
        v = show(s, 'blocked')
        check(v['version'] == '1' and v['source'] == 'file' and
              v['entries'] == '1', 'first version from the file: %r' % v)
        # A whole push: the new content answers, the old does not.
        path = write('b2', '198.51.100.0/24 spam source\n203.0.113.7\n')
        rc, out, err = ctl(s, 'list', 'push', 'blocked', path)
        check(rc == 0 and out.startswith('version 2 entries 2 '),
              'push: got %d %r %r' % (rc, out, err))
        out = send(s, '198.51.100.9', '<a@client.test>', ['<b@mx.test>'])
        check_eq(out['stage'], 'rcpt', 'pushed entry refused at')
        check('Listed at blocked: spam source' in (out['rcpts'][0][1] or ''),
              'reply names list and reason: %r' % (out['rcpts'],))
        out = send(s, '192.0.2.50', '<a@client.test>', ['<b@mx.test>'])
        check_eq(out['stage'], 'eom', 'entry of version 1 gone:')
        # One bad line: refused with its line number; version 2 stays.
        path = write('bad', '192.0.2.1\n192.0.2.2\n10.1.2.3/8 host bits\n')
        rc, out, err = ctl(s, 'list', 'push', 'blocked', path)
        check(rc == 1 and 'blocked:3: host bits set' in err,
              'bad push: got %d %r' % (rc, err))
        v = show(s, 'blocked')
        check_eq(v['version'], '2', 'version after the refused push')
        rc, out, _ = ctl(s, 'list', 'test', 'client_ip', '198.51.100.1')
        check('hit blocked' in out, 'old version answers: %r' % out)
        # Deltas.
        rc, out, err = ctl(s, 'list', 'add', 'blocked',
                           '192.0.2.77 added by hand',
                           '2001:db8::/32 v6 range')
        check(rc == 0 and out.startswith('version 3 entries 4 '),
              'add: got %d %r %r' % (rc, out, err))
        rc, out, err = ctl(s, 'list', 'del', 'blocked', '203.0.113.7')
        check(rc == 0 and out.startswith('version 4 entries 3 '),
              'del: got %d %r %r' % (rc, out, err))
        rc, out, err = ctl(s, 'list', 'del', 'blocked', '203.0.113.8')
        check(rc == 1 and 'not in the list' in err,
              'del of a missing entry: %d %r' % (rc, err))
        rc, out, err = ctl(s, 'list', 'add', 'blocked', '192.0.2.77')
        check(rc == 1 and 'already in the list' in err,
              'add of a present entry: %d %r' % (rc, err))
        out = send(s, '192.0.2.77', '<a@client.test>', ['<b@mx.test>'])
        check_eq(out['stage'], 'rcpt', 'added entry refused at')
        # Rollback: back to version 3, and a second rollback undoes it.
        rc, out, err = ctl(s, 'list', 'rollback', 'blocked')
        check(rc == 0 and out.startswith('version 3 entries 4 '),
              'rollback: %d %r %r' % (rc, out, err))
        rc, out, _ = ctl(s, 'list', 'test', 'client_ip', '203.0.113.7')
        check('hit blocked' in out, 'rolled back entry answers: %r' % out)
        v = show(s, 'blocked')
        check(v['who'].startswith('root(uid=0)') and v['previous'] == 'yes',
              'show names who changed it: %r' % v)
        # The audit log: one line per change, who and versions.
        with open(os.path.join(state, 'audit.log')) as f:
            audit = f.read().splitlines()
        ops = [(a.split(' op=')[1].split()[0],
                a.split(' old_version=')[1].split()[0],
                a.split(' new_version=')[1].split()[0]) for a in audit]
        check_eq(ops, [('push', '1', '2'), ('add', '2', '3'),
                       ('del', '3', '4'), ('rollback', '4', '3')],
                 'audit log operations')
        check(all(' who=root(uid=0) list=blocked ' in a for a in audit),
              'audit lines name who and the list: %r' % audit)
        checksum = show(s, 'blocked')['checksum']
    # A restart comes back with the last pushed version, not the file.
    with Sakimori(options(state), config_text=CONFIG % ENV) as s:
        v = show(s, 'blocked')
        check(v['version'] == '3' and v['source'] == 'pushed' and
              v['checksum'] == checksum,
              'after restart: %r, want version 3, %s' % (v, checksum))
        out = send(s, '192.0.2.77', '<a@client.test>', ['<b@mx.test>'])
        check_eq(out['stage'], 'rcpt', 'after restart, pushed entry')
        # A reload does not undo pushes either.
        rc, text = s.reload()
        check_eq(rc, 0, 'reload (%s)' % text)
        check_eq(show(s, 'blocked')['version'], '3', 'version after reload')
        # Rollback survives the restart too (the previous version is kept).
        rc, out, err = ctl(s, 'list', 'rollback', 'blocked')
        check(rc == 0 and out.startswith('version 4 '),
              'rollback after restart: %d %r %r' % (rc, out, err))


def test_fields_rcpt_and_header():
    state = os.path.join(ENV['dir'], 'state2')
    with Sakimori(options(state), config_text=CONFIG % ENV) as s:
        rc, out, err = ctl(s, 'list', 'add', 'hdr', '.bad.test spam domain')
        check_eq(rc, 0, 'add to hdr (%s)' % err)
        out = send(s, '192.0.2.10', '<a@client.test>',
                   ['<ok@mx.test>', '<x@sub.bad.test>'])
        check_eq(list_hits(out),
                 ['hdr field=rcpt_to entry=.bad.test (spam domain)'],
                 'rcpt_to hit')
        out = send(s, '192.0.2.10', '<a@client.test>', ['<ok@mx.test>'],
                   headers=[('Reply-To', 'Spammer <s@bad.test>')])
        check_eq(list_hits(out),
                 ['hdr field=header:Reply-To entry=.bad.test (spam domain)'],
                 'header:Reply-To hit')
        out = send(s, '192.0.2.10', '<a@client.test>', ['<ok@mx.test>'],
                   headers=[('Sender', 's@bad.test')])
        check_eq(list_hits(out), [], 'a header the list does not name')
        rc, out, _ = ctl(s, 'list', 'test', 'header:reply-to',
                         'z@bad.test')
        check('hit hdr' in out, 'list test header:NAME: %r' % out)


def swap_list(version_marker, n=2000):
    """swap_list - n common entries and one entry only this version has"""
    lines = ['common%d@t.test' % i for i in range(n)]
    lines.append('%s-only@t.test' % version_marker)
    return '\n'.join(lines) + '\n'


def test_push_under_traffic():
    state = os.path.join(ENV['dir'], 'state3')
    a = write('swap_a', swap_list('a'))
    b = write('swap_b', swap_list('b'))
    errors = []
    sessions = [0]
    stop = threading.Event()
    with Sakimori(options(state), config_text=CONFIG % ENV) as s:
        rc, out, err = ctl(s, 'list', 'push', 'swap', a)
        check_eq(rc, 0, 'first push (%s)' % err)

        def traffic(k):
            i = 0
            while not stop.is_set():
                i += 1
                # Snapshot A hits at RCPT, snapshot B at MAIL. A session
                # that saw A at MAIL and B at RCPT would hit neither; a
                # half-built list would miss the common entry.
                out = send(s, '192.0.2.10', '<b-only@t.test>',
                           ['<a-only@t.test>'])
                hits = list_hits(out)
                if len(hits) != 1:
                    errors.append('swap pair: %r' % hits)
                out = send(s, '192.0.2.10',
                           '<common%d@t.test>' % ((i * 7 + k) % 2000),
                           ['<ok@mx.test>'])
                if len(list_hits(out)) != 1:
                    errors.append('common entry missed: %r' %
                                  list_hits(out))
                with LOCK:
                    sessions[0] += 2

        threads = [threading.Thread(target=traffic, args=(k,))
                   for k in range(4)]
        for t in threads:
            t.start()
        pushes = 0
        try:
            # At least 30 pushes, and go on until 200 sessions ran.
            while pushes < 30 or (sessions[0] < 200 and pushes < 2000):
                rc, out, err = ctl(s, 'list', 'push', 'swap',
                                   b if pushes % 2 == 0 else a)
                if rc != 0:
                    errors.append('push %d: %s' % (pushes, err))
                pushes += 1
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        check(sessions[0] >= 200, 'sessions during the pushes: %d' %
              sessions[0])
        check(not errors, '%d of %d sessions saw a list half built or '
              'changing: %s' % (len(errors), sessions[0], errors[:3]))
        check_eq(show(s, 'swap')['version'], str(pushes + 2),
                 'version after %d pushes' % pushes)


def test_signed_list():
    state = os.path.join(ENV['dir'], 'state4')
    keyfile = os.path.join(ENV['dir'], 'maint.key')
    exe = os.path.join(os.environ.get('BUILD', 'build'), 'sakimori-ctl')
    r = subprocess.run([exe, '-k', keyfile, 'list', 'keygen', 'jp-ab'],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.startswith('ed25519:'),
          'keygen: %r %r' % (r.stdout, r.stderr))
    check_eq(os.stat(keyfile).st_mode & 0o777, 0o600, 'secret key mode')
    pub = r.stdout.strip()
    config = CONFIG % ENV + '''
list "signed" {
	kind = ip
	fields = {client_ip}
	action = reject
	signed_by = "%s"
}
''' % pub
    body = write('signed1', '192.0.2.88 botnet\n')

    def sign(version, path=body, key=keyfile):
        r = subprocess.run([exe, 'list', 'sign', key, 'ip', 'signed',
                            str(version), path],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, 'sign: %r' % r.stderr)
        return r.stdout.strip()

    with Sakimori(options(state), config_text=config) as s:
        rc, out, err = ctl(s, 'list', 'push', 'signed', body)
        check(rc == 1 and 'unsigned push refused' in err,
              'unsigned push: %d %r' % (rc, err))
        sig5 = sign(5)
        rc, out, err = ctl(s, 'list', 'push', 'signed', body, 'version=6',
                           'signature=' + sig5)
        check(rc == 1 and 'signature refused' in err,
              'signature of another version: %d %r' % (rc, err))
        other = write('signed_other', '192.0.2.89\n')
        rc, out, err = ctl(s, 'list', 'push', 'signed', other, 'version=5',
                           'signature=' + sig5)
        check(rc == 1 and 'signature refused' in err,
              'signature of other content: %d %r' % (rc, err))
        rc, out, err = ctl(s, 'list', 'push', 'signed', body, 'version=5',
                           'signature=' + sig5)
        check(rc == 0 and out.startswith('version 5 entries 1 '),
              'signed push: %d %r %r' % (rc, out, err))
        out = send(s, '192.0.2.88', '<a@client.test>', ['<b@mx.test>'])
        check_eq(out['stage'], 'rcpt', 'signed entry refused at')
        check_eq(show(s, 'signed')['signed'], 'yes', 'show: signed')
        sig3 = sign(3)
        rc, out, err = ctl(s, 'list', 'push', 'signed', body, 'version=3',
                           'signature=' + sig3)
        check(rc == 1 and 'replay' in err,
              'older signed version replayed: %d %r' % (rc, err))
        rc, out, err = ctl(s, 'list', 'push', 'signed', body, 'version=5',
                           'signature=' + sig5)
        check(rc == 1 and 'replay' in err,
              'same version replayed: %d %r' % (rc, err))
        rc, out, err = ctl(s, 'list', 'add', 'signed', '192.0.2.90')
        check(rc == 1 and 'signed pushes only' in err,
              'delta on a signed list: %d %r' % (rc, err))
        check_eq(show(s, 'signed')['version'], '5', 'version after refusals')
    # The replay bound survives a restart.
    with Sakimori(options(state), config_text=config) as s:
        rc, out, err = ctl(s, 'list', 'push', 'signed', body, 'version=4',
                           'signature=' + sign(4))
        check(rc == 1 and 'replay' in err,
              'older version after restart: %d %r' % (rc, err))


def test_control_socket_permissions():
    state = os.path.join(ENV['dir'], 'state5')
    for mode, group, allowed in (('0600', '', False),
                                 ('0660', 'nogroup', True)):
        opts = options(state)
        opts['control_mode'] = mode
        opts['control_group'] = group
        with Sakimori(opts, config_text=CONFIG % ENV) as s:
            os.chmod(s.dir, 0o755)
            st = os.stat(s.socket)
            check_eq(st.st_mode & 0o777, int(mode, 8), 'socket mode')
            rc, out, err = ctl(s, 'ping', user='nobody')
            if allowed:
                check(rc == 0 and 'pong' in out,
                      'nobody in control_group: %d %r %r' % (rc, out, err))
            else:
                check(rc == 69 and 'Permission denied' in err,
                      'nobody, mode %s: %d %r' % (mode, rc, err))
            rc, out, err = ctl(s, 'ping')
            check_eq(rc, 0, 'root, mode %s' % mode)


def test_scores():
    state = os.path.join(ENV['dir'], 'state8')
    opts = options(state)
    opts['score_tag'] = 3
    opts['score_reject'] = 6
    config = """
list "s1" {
	kind = ip
	fields = {client_ip}
	action = score
	score = 3
}
list "s2" {
	kind = address
	fields = {mail_from}
	action = score
	score = 4
}
"""
    with Sakimori(opts, config_text=config) as s:
        ctl(s, 'list', 'add', 's1', '192.0.2.20 dynamic range')
        ctl(s, 'list', 'add', 's2', 'spammer@client.test')
        out = send(s, '192.0.2.20', '<a@client.test>', ['<b@mx.test>'])
        check(out['stage'] == 'eom' and
              [m for m in out['mods'] if m[-2] == 'X-Sakimori-Tag'],
              'score 3 reaches score_tag: tagged, not refused: %r' %
              ((out['stage'], out['mods']),))
        line = s.wait_log(r'%s: client=' % out['qid'], 5)
        check(' score=3 by=score' in line, 'log names the score: %r' % line)
        out = send(s, '192.0.2.21', '<spammer@client.test>',
                   ['<b@mx.test>'])
        check(out['stage'] == 'eom', 'score 4 alone: under the reject '
              'threshold: %r' % out['stage'])
        out = send(s, '192.0.2.20', '<spammer@client.test>',
                   ['<b@mx.test>'])
        check_eq(out['stage'], 'rcpt', 'score 7 refused at')
        check_eq(out['rcpts'][0][1],
                 '550 5.7.1 Listed with score 7 (s1, s2)', 'reply')


def raw_tcp(port, data):
    """raw_tcp - send bytes to the control listener; the reply text"""
    import socket
    with socket.create_connection(('127.0.0.1', port), 10) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = b''
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode(errors='replace')


def signed_request(secret, line, payload=b'', ts=None, nonce=None):
    """signed_request - a request as the wire form says, signed here in
    Python (an implementation independent of milter/ctlauth.c)"""
    import hashlib
    import hmac
    import time
    ts = str(int(time.time()) if ts is None else ts)
    nonce = nonce or os.urandom(16).hex()
    mac = hmac.new(secret, b'sakimori-ctl-v1\n' + ts.encode() + b'\n' +
                   nonce.encode() + b'\n' + line.encode() + b'\n' +
                   payload, hashlib.sha256).hexdigest()
    return ('auth v1 %s %s %s\n%s\n' % (ts, nonce, mac, line)).encode() + \
        payload


def test_tcp_listener_hmac():
    from sakimori_proc import free_port
    state = os.path.join(ENV['dir'], 'state7')
    secret_path = os.path.join(ENV['dir'], 'ctl.secret')
    secret = os.urandom(32).hex().encode()
    with open(secret_path, 'wb') as f:
        f.write(secret + b'\n')
    os.chmod(secret_path, 0o600)
    wrong_path = os.path.join(ENV['dir'], 'wrong.secret')
    with open(wrong_path, 'wb') as f:
        f.write(os.urandom(32).hex().encode() + b'\n')
    os.chmod(wrong_path, 0o600)
    port = free_port()
    opts = options(state)
    opts['control_listen'] = '127.0.0.1:%d' % port
    opts['control_secret_file'] = secret_path
    exe = os.path.join(os.environ.get('BUILD', 'build'), 'sakimori-ctl')
    with Sakimori(opts, config_text=CONFIG % ENV) as s:
        path = write('tcp1', '192.0.2.99 pushed over tcp\n')
        r = subprocess.run([exe, '-t', '127.0.0.1:%d' % port, '-K',
                            secret_path, 'list', 'push', 'blocked', path],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith('version 2 '),
              'push over tcp with the secret: %d %r %r' %
              (r.returncode, r.stdout, r.stderr))
        check(show(s, 'blocked')['who'].startswith('hmac@127.0.0.1:'),
              'who of a tcp push: %r' % show(s, 'blocked'))
        r = subprocess.run([exe, '-t', '127.0.0.1:%d' % port, '-K',
                            wrong_path, 'list', 'push', 'blocked', path],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and 'bad HMAC' in r.stderr,
              'wrong secret: %d %r' % (r.returncode, r.stderr))
        check('missing auth line' in raw_tcp(port, b'ping\n'),
              'request without an auth line refused')
        # Signed here, independently: accepted once, refused replayed.
        req = signed_request(secret, 'list add blocked length=11',
                             b'192.0.2.98\n')
        out = raw_tcp(port, req)
        check(out.startswith('ok version 3 '), 'python-signed add: %r' % out)
        out = raw_tcp(port, req)
        check('nonce replayed' in out, 'replayed request: %r' % out)
        out = raw_tcp(port, signed_request(secret, 'ping', ts=1000000000))
        check('timestamp outside the window' in out,
              'stale request: %r' % out)
        tampered = signed_request(secret, 'list add blocked length=11',
                                  b'192.0.2.97\n').replace(b'192.0.2.97',
                                                            b'192.0.2.96')
        check('bad HMAC' in raw_tcp(port, tampered),
              'payload changed after signing refused')
        check_eq(show(s, 'blocked')['version'], '3',
                 'only the authenticated changes were made')
        check(s.grep(r'control: request from hmac@127\.0\.0\.1:\d+ '
                     r'refused: bad HMAC'),
              'refusals logged with the peer address')


def test_bad_commands():
    state = os.path.join(ENV['dir'], 'state6')
    with Sakimori(options(state), config_text=CONFIG % ENV) as s:
        before = show(s, 'blocked')
        for words, want in (
                (('list', 'push', 'nosuch', ENV['blocked']),
                 'no such list'),
                (('list', 'push', 'blocked', '/nonexistent/file'), None),
                (('list', 'push', 'blocked', ENV['blocked'], 'version=x'),
                 'want version=N (digits)'),
                (('list', 'push', 'blocked', ENV['blocked'], 'version=1'),
                 'not above the current'),
                (('list', 'add', 'blocked'), None),
                (('list', 'rollback', 'blocked'), 'no previous version'),
                (('list', 'frobnicate', 'blocked'), 'usage'),
        ):
            rc, out, err = ctl(s, *words)
            check(rc != 0 and (want is None or want in err),
                  '%s: got %d %r, want an error %r' % (' '.join(words), rc,
                                                        err, want))
        after = show(s, 'blocked')
        check_eq(after['checksum'], before['checksum'],
                 'list unchanged by bad commands')
        check_eq(after['version'], before['version'], 'version unchanged')


if __name__ == '__main__':
    run([
        test_push_delta_rollback_restart,
        test_fields_rcpt_and_header,
        test_push_under_traffic,
        test_signed_list,
        test_control_socket_permissions,
        test_tcp_listener_hmac,
        test_scores,
        test_bad_commands,
    ], time_limit=300, setup=setup, teardown=teardown)
