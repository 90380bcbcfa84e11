#!/usr/bin/env python3
"""test_milter_client - the milter client against fake filters.

Two fakes: a scripted one in Python (exact bytes on the wire, every reply
kind) and a tiny libmilter filter compiled here (the real library judges
our framing, negotiation and no-reply handling). Needs no sakimori.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import milter_client as mc  # noqa: E402
from runner import Skip, check, check_eq, mkdtemp, run, wait_for  # noqa


# -- a scripted filter -----------------------------------------------------

class FakeFilter:
    """FakeFilter - one connection; records packets, replies per script

    protocol/actions: what it answers to OPTNEG. replies: command byte ->
    list of packets (cmd, data) to send back; commands not in it get
    CONTINUE unless in silent (no reply at all).
    """

    def __init__(self, protocol=0, actions=mc.ALL_ACTIONS, replies=None,
                 silent=(), symlist=b''):
        self.protocol = protocol
        self.actions = actions
        self.replies = replies or {}
        self.silent = set(silent)
        self.symlist = symlist
        self.got = []
        self.srv = socket.socket()
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def read(self, conn, n):
        buf = b''
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def serve(self):
        conn, _ = self.srv.accept()
        conn.settimeout(10)
        with conn:
            while True:
                head = self.read(conn, 4)
                if head is None:
                    return
                (n,) = struct.unpack('!I', head)
                pkt = self.read(conn, n)
                if pkt is None:
                    return
                cmd, data = pkt[:1], pkt[1:]
                self.got.append((cmd, data))
                self.answer(conn, cmd, data)
                if cmd == b'Q':
                    return

    def answer(self, conn, cmd, data):
        if cmd == b'O':
            ver = struct.unpack('!I', data[:4])[0]
            out = struct.pack('!III', ver, self.actions, self.protocol)
            conn.sendall(mc.pack(b'O', out + self.symlist))
            return
        if cmd in (b'D', b'A', b'Q', b'K') or cmd in self.silent:
            return
        for rc, rdata in self.replies.get(cmd, [(b'c', b'')]):
            conn.sendall(mc.pack(rc, rdata))

    def close(self):
        self.thread.join(5)
        self.srv.close()


def fake(**kw):
    f = FakeFilter(**kw)
    c = mc.MilterClient('127.0.0.1', f.port, timeout=3)
    return f, c


def test_negotiate():
    sym = struct.pack('!I', 2) + b'{auth_authen} i\0'
    f, c = fake(protocol=mc.SMFIP_NR_HDR | mc.SMFIP_NOUNKNOWN,
                actions=mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS, symlist=sym)
    got = c.negotiate()
    c.close()
    f.close()
    want = (6, mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS,
            mc.SMFIP_NR_HDR | mc.SMFIP_NOUNKNOWN)
    check_eq(got, want, 'negotiated')
    check_eq(f.got[0], (b'O', struct.pack('!III', 6, mc.ALL_ACTIONS,
                                          mc.ALL_PROTOCOL)), 'OPTNEG sent')
    check_eq(c.symlists, {'M': ['{auth_authen}', 'i']}, 'symlists')


def test_wire_format():
    f, c = fake()
    c.negotiate()
    c.macros('connect', {'j': 'mx.test', '{daemon_name}': 'smtpd'})
    c.connect('mail.example', '192.0.2.1', port=2525)
    c.connect('v6.example', '2001:db8::1')
    c.connect('unknown', '', family='U')
    c.helo('helo.example')
    c.mail('<a@example.org>', ['SIZE=10', 'BODY=8BITMIME'])
    c.rcpt('<b@example.net>')
    c.data()
    c.header('Subject', 'hi there')
    c.eoh()
    c.close()
    f.close()
    want = [
        (b'D', b'Cj\0mx.test\0{daemon_name}\0smtpd\0'),
        (b'C', b'mail.example\0' + b'4' + struct.pack('!H', 2525) +
         b'192.0.2.1\0'),
        (b'C', b'v6.example\0' + b'6' + struct.pack('!H', 25) +
         b'2001:db8::1\0'),
        (b'C', b'unknown\0U'),
        (b'H', b'helo.example\0'),
        (b'M', b'<a@example.org>\0SIZE=10\0BODY=8BITMIME\0'),
        (b'R', b'<b@example.net>\0'),
        (b'T', b''),
        (b'L', b'Subject\0hi there\0'),
        (b'N', b''),
        (b'Q', b''),
    ]
    check_eq(f.got[1:], want, 'packets')


def test_no_reply_flags():
    # The fake does not answer headers, EOH or body: a client that waited
    # would time out (3 s) and raise.
    nr = mc.SMFIP_NR_HDR | mc.SMFIP_NR_EOH | mc.SMFIP_NR_BODY
    f, c = fake(protocol=nr, silent=(b'L', b'N', b'B'))
    c.negotiate()
    for call in (lambda: c.header('A', 'b'), c.eoh, lambda: c.body(b'x')):
        got = call()
        check_eq(got, ('continue', None), 'no-reply stage')
        check(not c.replied, 'replied: got True, want False')
    got = c.eom()
    c.close()
    f.close()
    check_eq(got, ('continue', None, []), 'eom')


def test_skipped_stages():
    f, c = fake(protocol=mc.SMFIP_NOHELO | mc.SMFIP_NODATA)
    c.negotiate()
    check_eq(c.helo('x'), ('continue', None), 'helo')
    check_eq(c.data(), ('continue', None), 'data')
    c.mail('<a@b>')
    c.close()
    f.close()
    cmds = [cmd for cmd, _ in f.got]
    check_eq(cmds, [b'O', b'M', b'Q'], 'commands sent')


def test_eom_mods():
    ar = b'Authentication-Results\0mx.test; spf=pass\0'
    replies = {b'E': [
        (b'p', b''),
        (b'm', struct.pack('!I', 2) + b'Authentication-Results\0\0'),
        (b'i', struct.pack('!I', 0) + ar),
        (b'h', b'X-Tag\0yes\0'),
        (b'q', b'held\0'),
        (b'+', b'<c@x>\0'),
        (b'-', b'<b@x>\0'),
        (b'e', b'<new@x>\0SIZE=1\0'),
        (b'b', b'new body'),
        (b'p', b''),
        (b'y', b'550 5.7.23 no\0'),
    ]}
    f, c = fake(replies=replies)
    c.negotiate()
    got = c.eom()
    c.close()
    f.close()
    want = ('replycode', '550 5.7.23 no', [
        ('chgheader', 2, 'Authentication-Results', ''),
        ('insheader', 0, 'Authentication-Results', 'mx.test; spf=pass'),
        ('addheader', 'X-Tag', 'yes'),
        ('quarantine', 'held'),
        ('addrcpt', '<c@x>'),
        ('delrcpt', '<b@x>'),
        ('chgfrom', '<new@x>', 'SIZE=1'),
        ('replbody', b'new body'),
    ])
    check_eq(got, want, 'eom')
    check_eq(c.progress, 2, 'progress packets')


def test_actions():
    codes = [(b'a', 'accept'), (b'r', 'reject'), (b't', 'tempfail'),
             (b'd', 'discard'), (b's', 'skip')]
    for code, name in codes:
        f, c = fake(replies={b'M': [(code, b'')]})
        c.negotiate()
        got = c.mail('<a@b>')
        c.close()
        f.close()
        check_eq(got, (name, None), 'reply %r' % code)
    f, c = fake(replies={b'R': [(b'y', b'451 4.7.1 later\0')]})
    c.negotiate()
    got = c.rcpt('<a@b>')
    c.close()
    f.close()
    check_eq(got, ('replycode', '451 4.7.1 later'), 'replycode')


def test_body_chunks():
    f, c = fake()
    c.negotiate()
    c.body(b'x' * 150000)
    c.close()
    f.close()
    sizes = [len(d) for cmd, d in f.got if cmd == b'B']
    check_eq(sizes, [65535, 65535, 18930], 'chunk sizes')


def test_message_stops_at_reject():
    f, c = fake(replies={b'M': [(b'y', b'550 5.7.23 spf\0')]})
    c.negotiate()
    out = c.message('<a@b>', ['<c@d>'], headers=[('Subject', 'x')])
    c.close()
    f.close()
    check_eq((out['stage'], out['action'], out['text']),
             ('mail', 'replycode', '550 5.7.23 spf'), 'outcome')
    cmds = [cmd for cmd, _ in f.got]
    check_eq(cmds, [b'O', b'M', b'Q'], 'commands sent')


def test_closed_connection():
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    c = mc.MilterClient('127.0.0.1', srv.getsockname()[1], timeout=3)
    conn, _ = srv.accept()
    conn.close()
    srv.close()
    try:
        c.negotiate()
    except mc.MilterError:
        return
    finally:
        c.sock.close()
    raise AssertionError('negotiate on a closed socket: got no error, '
                         'want MilterError')


# -- a real libmilter filter -------------------------------------------------

LIBMILTER_FILTER = r'''
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct seen { char text[4096]; int hdrs; long body; };
static struct seen *
st(SMFICTX *ctx)
{
	struct seen *s = smfi_getpriv(ctx);
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		smfi_setpriv(ctx, s);
	}
	return s;
}
static void
add(SMFICTX *ctx, const char *k, const char *v)
{
	struct seen *s = st(ctx);
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof(s->text) - n, "%s%s=%s",
	    n ? " " : "", k, v ? v : "(null)");
}
static sfsistat
negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx; (void)f0; (void)f2; (void)f3;
	*pf0 = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	*pf1 = (SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NOUNKNOWN) & f1;
	*pf2 = 0; *pf3 = 0;
	return SMFIS_CONTINUE;
}
static sfsistat
connect_cb(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	add(ctx, "host", host);
	add(ctx, "family", sa == NULL ? "none" :
	    sa->sa_family == AF_INET ? "inet" : "inet6");
	add(ctx, "j", smfi_getsymval(ctx, "j"));
	return SMFIS_CONTINUE;
}
static sfsistat
helo_cb(SMFICTX *ctx, char *name)
{
	add(ctx, "helo", name);
	return SMFIS_CONTINUE;
}
static sfsistat
mail_cb(SMFICTX *ctx, char **argv)
{
	add(ctx, "from", argv[0]);
	add(ctx, "auth", smfi_getsymval(ctx, "{auth_authen}"));
	if (strstr(argv[0], "reject") != NULL) {
		smfi_setreply(ctx, "550", "5.7.23", "go away");
		return SMFIS_REJECT;
	}
	return SMFIS_CONTINUE;
}
static sfsistat
rcpt_cb(SMFICTX *ctx, char **argv)
{
	add(ctx, "rcpt", argv[0]);
	return SMFIS_CONTINUE;
}
static sfsistat
header_cb(SMFICTX *ctx, char *n, char *v)
{
	(void)n; (void)v;
	st(ctx)->hdrs++;
	return SMFIS_NOREPLY;
}
static sfsistat
body_cb(SMFICTX *ctx, unsigned char *b, size_t len)
{
	(void)b;
	st(ctx)->body += (long)len;
	return SMFIS_NOREPLY;
}
static sfsistat
eom_cb(SMFICTX *ctx)
{
	struct seen *s = st(ctx);
	char buf[64];
	snprintf(buf, sizeof(buf), "%d", s->hdrs);
	add(ctx, "hdrs", buf);
	snprintf(buf, sizeof(buf), "%ld", s->body);
	add(ctx, "body", buf);
	smfi_chgheader(ctx, "X-Old", 1, NULL);
	smfi_insheader(ctx, 0, "X-Seen", s->text);
	s->text[0] = '\0';
	s->hdrs = 0;
	s->body = 0;
	return SMFIS_ACCEPT;
}
static sfsistat
close_cb(SMFICTX *ctx)
{
	free(smfi_getpriv(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}
static struct smfiDesc desc = {
	"fake", SMFI_VERSION, SMFIF_ADDHDRS | SMFIF_CHGHDRS, connect_cb,
	helo_cb, mail_cb, rcpt_cb, header_cb, NULL, body_cb, eom_cb, NULL,
	close_cb, NULL, NULL, negotiate,
};
int
main(int argc, char **argv)
{
	(void)argc;
	if (smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_register(desc) == MI_FAILURE)
		return 1;
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
'''

LIBMILTER = {}


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def libmilter_setup():
    cc = shutil.which('cc')
    if cc is None or not os.path.exists('/usr/include/libmilter/mfapi.h'):
        return
    d = mkdtemp('milterclient')
    LIBMILTER['dir'] = d
    src = os.path.join(d, 'fake.c')
    with open(src, 'w') as f:
        f.write(LIBMILTER_FILTER)
    exe = os.path.join(d, 'fake')
    r = subprocess.run([cc, '-o', exe, src, '-lmilter', '-pthread'],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('cc: ' + r.stderr)
    port = free_port()
    LIBMILTER['proc'] = subprocess.Popen(
        [exe, 'inet:%d@127.0.0.1' % port], stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(d, 'stderr'), 'w'))
    LIBMILTER['port'] = port

    def up():
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return True
        except OSError:
            return False
    if not wait_for(up, 10):
        raise RuntimeError('libmilter fake did not listen')


def libmilter_teardown():
    proc = LIBMILTER.get('proc')
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if 'dir' in LIBMILTER:
        shutil.rmtree(LIBMILTER['dir'], ignore_errors=True)


def libmilter_client():
    if 'port' not in LIBMILTER:
        raise Skip('no cc or libmilter-dev')
    return mc.MilterClient('127.0.0.1', LIBMILTER['port'], timeout=5)


def test_libmilter_transaction():
    c = libmilter_client()
    v, actions, proto = c.negotiate()
    check_eq(proto & (mc.SMFIP_NR_HDR | mc.SMFIP_NR_BODY),
             mc.SMFIP_NR_HDR | mc.SMFIP_NR_BODY, 'NR flags negotiated')
    c.macros('C', {'j': 'mx.test'})
    check_eq(c.connect('mail.example', '192.0.2.1'), ('continue', None),
             'connect')
    check_eq(c.helo('helo.example'), ('continue', None), 'helo')
    out = c.message('<a@example.org>', ['<b@example.net>'],
                    headers=[('Subject', 'x'), ('X-Old', 'y')],
                    body=b'z' * 70000,
                    mail_macros={'{auth_authen}': 'alice'})
    check_eq(out['action'], 'accept', 'eom action')
    seen = ('host=mail.example family=inet j=mx.test helo=helo.example '
            'from=<a@example.org> auth=alice rcpt=<b@example.net> '
            'hdrs=2 body=70000')
    want = [('chgheader', 1, 'X-Old', ''), ('insheader', 0, 'X-Seen', seen)]
    check_eq(out['mods'], want, 'mods')
    # A second message on the same connection, IPv6 on a new one.
    out = c.message('<reject@example.org>', ['<b@example.net>'])
    check_eq((out['stage'], out['action'], out['text']),
             ('mail', 'replycode', '550 5.7.23 go away'), 'reject')
    c.close()
    c = libmilter_client()
    c.negotiate()
    c.connect('v6.example', '2001:db8::1')
    out = c.message('<a@example.org>', ['<b@example.net>'])
    c.close()
    check('family=inet6' in out['mods'][-1][3],
          'IPv6 connect: got %r, want family=inet6' % (out['mods'],))


def test_libmilter_garbage_address():
    c = libmilter_client()
    c.negotiate()
    try:
        c.connect('bad.example', 'not-an-ip')
        closed = c.closed_by_peer(2)
    except mc.MilterError:
        closed = True
    c.sock.close()
    check(closed, 'garbage IPv4 address: got the connection kept, want '
          'libmilter to drop it')
    c = libmilter_client()
    c.negotiate()
    got = c.connect('x', '192.0.2.9')
    c.close()
    check_eq(got, ('continue', None), 'filter alive after garbage')


if __name__ == '__main__':
    run([test_negotiate, test_wire_format, test_no_reply_flags,
         test_skipped_stages, test_eom_mods, test_actions, test_body_chunks,
         test_message_stops_at_reject, test_closed_connection,
         test_libmilter_transaction, test_libmilter_garbage_address],
        time_limit=60, setup=libmilter_setup, teardown=libmilter_teardown)
