"""milter_client - speak the milter protocol to a filter, as an MTA does.

Protocol version 6, as libmilter 8.17 (sendmail's mfdef.h) and Postfix's
milter8.c speak it. Every packet is a 4-byte big-endian length (command
byte included), one command byte, then the data.

    c = MilterClient('127.0.0.1', port)
    c.negotiate()
    c.connect('mail.example', '192.0.2.1')
    c.helo('mail.example')
    c.macros('M', {'i': 'QID1', '{auth_authen}': 'alice'})
    c.mail('<a@example.org>')
    c.rcpt('<b@example.net>')
    c.header('Subject', 'hi')
    c.eoh()
    c.body(b'text\\r\\n')
    action, text, mods = c.eom()
    c.close()

Each stage call returns (action, text): action is one of 'continue',
'accept', 'reject', 'tempfail', 'discard', 'replycode', 'skip',
'conn_fail', 'shutdown'; text is the reply of a REPLYCODE
('550 5.7.23 ...'), else None. A stage the filter negotiated away
(SMFIP_NO*) is not sent and one it asked no reply for (SMFIP_NR_*) is not
waited on: both return ('continue', None) and set `replied` to False.

eom() returns (action, text, mods), mods in the order received:
    ('addheader', name, value)
    ('insheader', index, name, value)
    ('chgheader', index, name, value)      value '' deletes
    ('quarantine', reason)
    ('addrcpt', rcpt) ('addrcpt_par', rcpt, args) ('delrcpt', rcpt)
    ('chgfrom', sender, args)
    ('replbody', bytes)
Python 3 standard library only.
"""

import socket
import struct

# Commands, MTA to filter (mfdef.h SMFIC_*).
SMFIC_ABORT = b'A'
SMFIC_BODY = b'B'
SMFIC_CONNECT = b'C'
SMFIC_MACRO = b'D'
SMFIC_BODYEOB = b'E'
SMFIC_HELO = b'H'
SMFIC_QUIT_NC = b'K'
SMFIC_HEADER = b'L'
SMFIC_MAIL = b'M'
SMFIC_EOH = b'N'
SMFIC_OPTNEG = b'O'
SMFIC_QUIT = b'Q'
SMFIC_RCPT = b'R'
SMFIC_DATA = b'T'
SMFIC_UNKNOWN = b'U'

# Replies, filter to MTA (SMFIR_*): final actions by name.
ACTIONS = {
    b'c': 'continue',
    b'a': 'accept',
    b'r': 'reject',
    b't': 'tempfail',
    b'd': 'discard',
    b'y': 'replycode',
    b's': 'skip',
    b'f': 'conn_fail',
    b'4': 'shutdown',
}
SMFIR_PROGRESS = b'p'
SMFIR_SETSYMLIST = b'l'

# Action flags the MTA allows (SMFIF_*).
SMFIF_ADDHDRS = 0x01
SMFIF_CHGBODY = 0x02
SMFIF_ADDRCPT = 0x04
SMFIF_DELRCPT = 0x08
SMFIF_CHGHDRS = 0x10
SMFIF_QUARANTINE = 0x20
SMFIF_CHGFROM = 0x40
SMFIF_ADDRCPT_PAR = 0x80
SMFIF_SETSYMLIST = 0x100
ALL_ACTIONS = 0x1FF

# Protocol flags (SMFIP_*).
SMFIP_NOCONNECT = 0x1
SMFIP_NOHELO = 0x2
SMFIP_NOMAIL = 0x4
SMFIP_NORCPT = 0x8
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_SKIP = 0x400
SMFIP_RCPT_REJ = 0x800
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_RCPT = 0x8000
SMFIP_NR_DATA = 0x10000
SMFIP_NR_UNKN = 0x20000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000
SMFIP_HDR_LEADSPC = 0x100000
# What Postfix 3.7 offers: every step flag, no bigger data sizes, so
# body chunks stay at most 65535 bytes.
ALL_PROTOCOL = 0x1FFFFF

MAX_CHUNK = 65535
MAX_PACKET = 1 << 20

# Macro stages: the command a macro packet precedes.
STAGES = {
    'connect': 'C', 'helo': 'H', 'mail': 'M', 'rcpt': 'R', 'data': 'T',
    'eoh': 'N', 'eom': 'E', 'unknown': 'U',
}
# SMFIR_SETSYMLIST slots (SMFIM_*) to the stage letter.
SYMLIST_SLOTS = {0: 'C', 1: 'H', 2: 'M', 3: 'R', 4: 'E', 5: 'E', 6: 'N'}

# Per stage: the "don't send" flag and the "no reply" flag.
STAGE_FLAGS = {
    'connect': (SMFIP_NOCONNECT, SMFIP_NR_CONN),
    'helo': (SMFIP_NOHELO, SMFIP_NR_HELO),
    'mail': (SMFIP_NOMAIL, SMFIP_NR_MAIL),
    'rcpt': (SMFIP_NORCPT, SMFIP_NR_RCPT),
    'data': (SMFIP_NODATA, SMFIP_NR_DATA),
    'header': (SMFIP_NOHDRS, SMFIP_NR_HDR),
    'eoh': (SMFIP_NOEOH, SMFIP_NR_EOH),
    'body': (SMFIP_NOBODY, SMFIP_NR_BODY),
    'unknown': (SMFIP_NOUNKNOWN, SMFIP_NR_UNKN),
}


class MilterError(Exception):
    """The filter broke the protocol, closed the connection or timed out."""


def to_bytes(value):
    """to_bytes - str (UTF-8, surrogates kept) or bytes to bytes"""
    if isinstance(value, bytes):
        return value
    return str(value).encode('utf-8', 'surrogateescape')


def cstr(value):
    """cstr - a NUL-terminated string"""
    return to_bytes(value) + b'\0'


def split_cstrs(data):
    """split_cstrs - NUL-terminated strings in data, decoded"""
    parts = data.split(b'\0')
    if parts and parts[-1] == b'':
        parts.pop()
    return [p.decode('utf-8', 'surrogateescape') for p in parts]


def pack(cmd, data=b''):
    """pack - one packet: length, command byte, data"""
    return struct.pack('!I', len(data) + 1) + cmd + data


def family_of(ip):
    """family_of - '6' for an address with a colon, else '4'"""
    return '6' if ':' in str(ip) else '4'


def unfold(value):
    """unfold - a header value with folding (CRLF/LF + WSP) undone"""
    return ' '.join(value.replace('\r\n', '\n').replace('\n', ' ').split())


class MilterClient:
    """MilterClient - one MTA-side milter connection"""

    def __init__(self, host='127.0.0.1', port=None, timeout=30.0,
                 unix_path=None):
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix_path)
        else:
            self.sock = socket.create_connection((host, port), timeout)
        self.version = None
        self.actions = 0
        self.protocol = 0
        self.symlists = {}
        self.replied = False
        self.progress = 0

    # -- transport ---------------------------------------------------

    def send(self, cmd, data=b''):
        """send - write one packet"""
        try:
            self.sock.sendall(pack(cmd, data))
        except OSError as e:
            raise MilterError('send %r: %s' % (cmd, e)) from e

    def recv_exact(self, n):
        """recv_exact - read exactly n bytes or raise MilterError"""
        buf = b''
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except socket.timeout as e:
                raise MilterError('timeout waiting for the filter') from e
            except OSError as e:
                raise MilterError('recv: %s' % e) from e
            if not chunk:
                raise MilterError('filter closed the connection')
            buf += chunk
        return buf

    def recv(self):
        """recv - read one packet; returns (command byte, data)"""
        (length,) = struct.unpack('!I', self.recv_exact(4))
        if length < 1 or length > MAX_PACKET:
            raise MilterError('bad packet length %d' % length)
        body = self.recv_exact(length)
        return body[:1], body[1:]

    def closed_by_peer(self, wait=1.0):
        """closed_by_peer - True if the filter closed (EOF) within wait s"""
        old = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b''
        except socket.timeout:
            return False
        except OSError:
            return True
        finally:
            self.sock.settimeout(old)

    # -- replies -------------------------------------------------------

    def read_reply(self, mods=None):
        """read_reply - wait for a final action; gather mods if a list

        Returns (action, text). PROGRESS packets are counted and skipped;
        modifications outside EOM (mods None) are a protocol error.
        """
        while True:
            cmd, data = self.recv()
            if cmd == SMFIR_PROGRESS:
                self.progress += 1
                continue
            if cmd in ACTIONS:
                action = ACTIONS[cmd]
                text = None
                if action == 'replycode':
                    text = data.rstrip(b'\0').decode('utf-8',
                                                     'surrogateescape')
                return action, text
            mod = parse_mod(cmd, data)
            if mod is None:
                raise MilterError('unknown reply %r %r' % (cmd, data[:80]))
            if mods is None:
                raise MilterError('modification %r outside EOM' % (mod,))
            mods.append(mod)

    def step(self, stage, cmd, data=b''):
        """step - send one stage's command, honouring NO*/NR_* flags"""
        no_flag, nr_flag = STAGE_FLAGS[stage]
        self.replied = False
        if self.protocol & no_flag:
            return 'continue', None
        self.send(cmd, data)
        if self.protocol & nr_flag:
            return 'continue', None
        self.replied = True
        return self.read_reply()

    # -- stages --------------------------------------------------------

    def negotiate(self, version=6, actions=ALL_ACTIONS,
                  protocol=ALL_PROTOCOL):
        """negotiate - SMFIC_OPTNEG; returns (version, actions, protocol)

        Sets self.version/actions/protocol to the filter's choice and
        self.symlists to any macro lists it asked for ({'C': [...]}).
        """
        self.send(SMFIC_OPTNEG, struct.pack('!III', version, actions,
                                            protocol))
        cmd, data = self.recv()
        if cmd != SMFIC_OPTNEG or len(data) < 12:
            raise MilterError('bad OPTNEG reply %r %r' % (cmd, data[:40]))
        self.version, self.actions, self.protocol = struct.unpack(
            '!III', data[:12])
        rest = data[12:]
        while len(rest) >= 4:
            (slot,) = struct.unpack('!I', rest[:4])
            end = rest.find(b'\0', 4)
            if end < 0:
                end = len(rest)
            names = rest[4:end].decode('utf-8', 'replace').split()
            self.symlists[SYMLIST_SLOTS.get(slot, str(slot))] = names
            rest = rest[end + 1:]
        return self.version, self.actions, self.protocol

    def macros(self, stage, values):
        """macros - SMFIC_MACRO for stage ('C'/'connect', 'M'/'mail', ...)

        No reply is ever sent to a macro packet.
        """
        letter = STAGES.get(stage, stage)
        data = to_bytes(letter)
        for name, value in values.items():
            data += cstr(name) + cstr(value)
        self.send(SMFIC_MACRO, data)

    def connect(self, hostname, ip, port=25, family=None):
        """connect - SMFIC_CONNECT; family '4'/'6' from ip unless given

        family 'U' sends no port nor address (unknown); 'L' a Unix path.
        ip may be bytes, to send anything at all as the address.
        """
        if family is None:
            family = family_of(ip)
        data = cstr(hostname) + to_bytes(family)
        if family != 'U':
            data += struct.pack('!H', port) + cstr(ip)
        return self.step('connect', SMFIC_CONNECT, data)

    def helo(self, name):
        """helo - SMFIC_HELO"""
        return self.step('helo', SMFIC_HELO, cstr(name))

    def mail(self, addr, esmtp=()):
        """mail - SMFIC_MAIL with ESMTP arguments; '<>' is the null path"""
        data = cstr(addr) + b''.join(cstr(a) for a in esmtp)
        return self.step('mail', SMFIC_MAIL, data)

    def rcpt(self, addr, esmtp=()):
        """rcpt - SMFIC_RCPT"""
        data = cstr(addr) + b''.join(cstr(a) for a in esmtp)
        return self.step('rcpt', SMFIC_RCPT, data)

    def data(self):
        """data - SMFIC_DATA"""
        return self.step('data', SMFIC_DATA)

    def unknown(self, command):
        """unknown - SMFIC_UNKNOWN: an SMTP command the MTA did not know"""
        return self.step('unknown', SMFIC_UNKNOWN, cstr(command))

    def header(self, name, value):
        """header - SMFIC_HEADER (value without the leading space)"""
        return self.step('header', SMFIC_HEADER, cstr(name) + cstr(value))

    def eoh(self):
        """eoh - SMFIC_EOH"""
        return self.step('eoh', SMFIC_EOH)

    def body(self, data):
        """body - SMFIC_BODY in chunks of at most 65535 bytes

        Returns the reply to the last chunk sent, or the first that was
        not 'continue' (SKIP included: the rest is not sent).
        """
        data = to_bytes(data)
        reply = ('continue', None)
        for i in range(0, len(data), MAX_CHUNK):
            reply = self.step('body', SMFIC_BODY, data[i:i + MAX_CHUNK])
            if reply[0] != 'continue':
                break
        return reply

    def eom(self):
        """eom - SMFIC_BODYEOB; returns (action, text, mods)"""
        self.send(SMFIC_BODYEOB)
        mods = []
        self.replied = True
        action, text = self.read_reply(mods)
        return action, text, mods

    def abort(self):
        """abort - SMFIC_ABORT: end the message; no reply"""
        self.send(SMFIC_ABORT)

    def quit(self):
        """quit - SMFIC_QUIT: end the connection; no reply"""
        self.send(SMFIC_QUIT)

    def quit_nc(self):
        """quit_nc - SMFIC_QUIT_NC: end the session, a new one follows"""
        self.send(SMFIC_QUIT_NC)

    def close(self):
        """close - QUIT if possible, then close the socket"""
        try:
            self.sock.sendall(pack(SMFIC_QUIT))
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- a whole transaction -------------------------------------------

    def message(self, sender, rcpts=('<postmaster@example.net>',),
                headers=(), body=b'', mail_macros=None, esmtp=(),
                eoh=True):
        """message - MAIL, RCPT..., DATA, headers, EOH, BODY, EOM

        headers: (name, value) pairs. Stops at the first stage whose
        action is final (not 'continue'/'skip'); a rejected RCPT is
        recorded and the message goes on while one recipient is left.
        Returns a dict: stage -> (action, text), 'rcpts' -> replies,
        'action', 'text', 'mods' (the outcome; mods [] if not at EOM).
        """
        out = {'rcpts': [], 'mods': [], 'stage': None}

        def final(stage, reply):
            out['stage'], out['action'], out['text'] = stage, reply[0], \
                reply[1]
            return out

        if mail_macros:
            self.macros('M', mail_macros)
        out['mail'] = self.mail(sender, esmtp)
        if out['mail'][0] != 'continue':
            return final('mail', out['mail'])
        accepted = 0
        for r in rcpts:
            reply = self.rcpt(r)
            out['rcpts'].append(reply)
            if reply[0] == 'continue':
                accepted += 1
            elif reply[0] in ('accept', 'discard'):
                return final('rcpt', reply)
        if accepted == 0:
            return final('rcpt', out['rcpts'][-1])
        out['data'] = self.data()
        if out['data'][0] != 'continue':
            return final('data', out['data'])
        for name, value in headers:
            reply = self.header(name, value)
            if reply[0] not in ('continue', 'skip'):
                return final('header', reply)
        if eoh:
            reply = self.eoh()
            if reply[0] != 'continue':
                return final('eoh', reply)
        reply = self.body(body)
        if reply[0] not in ('continue', 'skip'):
            return final('body', reply)
        action, text, mods = self.eom()
        out['mods'] = mods
        return final('eom', (action, text))


def parse_mod(cmd, data):
    """parse_mod - one modification packet as a tuple, None if unknown"""
    if cmd == b'h':
        name, value = (split_cstrs(data) + ['', ''])[:2]
        return ('addheader', name, value)
    if cmd in (b'i', b'm'):
        if len(data) < 4:
            raise MilterError('short header modification %r' % data)
        (index,) = struct.unpack('!I', data[:4])
        name, value = (split_cstrs(data[4:]) + ['', ''])[:2]
        return ('insheader' if cmd == b'i' else 'chgheader', index, name,
                value)
    if cmd == b'q':
        return ('quarantine', (split_cstrs(data) + [''])[0])
    if cmd == b'+':
        return ('addrcpt', (split_cstrs(data) + [''])[0])
    if cmd == b'2':
        parts = split_cstrs(data) + ['', '']
        return ('addrcpt_par', parts[0], parts[1])
    if cmd == b'-':
        return ('delrcpt', (split_cstrs(data) + [''])[0])
    if cmd == b'e':
        parts = split_cstrs(data) + ['', '']
        return ('chgfrom', parts[0], parts[1])
    if cmd == b'b':
        return ('replbody', data)
    return None
