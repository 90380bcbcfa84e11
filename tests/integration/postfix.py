"""postfix - a private Postfix instance for end-to-end tests.

    with Postfix(milter_port=s.port) as pf:
        rc, out = pf.swaks('<a@pass.example>', 'u@mx.test',
                           addr='192.0.2.1', helo='mail.pass.example')
        msg = pf.wait_message()

Everything lives in one fresh directory under tests/tmp: config_directory
(etc/), queue_directory (queue/), data_directory (data/), the mail log
(maillog, through postlogd) and the delivered mail (mail/, one Maildir,
every recipient of the virtual domain mx.test). Postfix listens on a free
port on 127.0.0.1, trusts 127.0.0.0/8 for XCLIENT, never looks up DNS and
never relays: anything not for mx.test bounces through the error
transport. The system's own Postfix is neither used nor touched.

The milter, when given, is inet:127.0.0.1:PORT, protocol 6, default
action tempfail (a dead filter must not let mail through unchecked).
Python 3 standard library only.
"""

import atexit
import glob
import os
import pwd
import re
import shutil
import subprocess

from runner import mkdtemp, wait_for
from sakimori_proc import free_port, port_open

DOMAIN = 'mx.test'
LIVE = set()

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{port} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def main_cf(d, milter_port, extra):
    """main_cf - the settings, as a dict, for a private instance in d"""
    nobody = pwd.getpwnam('nobody')
    conf = {
        'compatibility_level': '3.6',
        'config_directory': os.path.join(d, 'etc'),
        'queue_directory': os.path.join(d, 'queue'),
        'data_directory': os.path.join(d, 'data'),
        'maillog_file': os.path.join(d, 'maillog'),
        'maillog_file_prefixes': d,
        'syslog_name': 'postfix-test',
        'myhostname': 'relay.' + DOMAIN,
        'mydomain': DOMAIN,
        'myorigin': DOMAIN,
        'mydestination': '',
        'inet_interfaces': 'loopback-only',
        'inet_protocols': 'ipv4',
        'mynetworks': '127.0.0.0/8',
        'smtpd_authorized_xclient_hosts': '127.0.0.0/8',
        'smtpd_peername_lookup': 'no',
        'smtpd_relay_restrictions':
            'permit_mynetworks, reject_unauth_destination',
        'smtpd_recipient_restrictions': '',
        'smtpd_helo_required': 'no',
        'smtpd_banner': '$myhostname ESMTP test',
        'disable_dns_lookups': 'yes',
        'smtp_dns_support_level': 'disabled',
        'smtp_host_lookup': 'native',
        'default_transport': 'error:no outbound mail in tests',
        'relay_transport': 'error:no outbound mail in tests',
        'local_transport': 'error:no local mail in tests',
        'alias_maps': '',
        'alias_database': '',
        'biff': 'no',
        'virtual_mailbox_domains': DOMAIN,
        'virtual_mailbox_base': os.path.join(d, 'mail'),
        'virtual_mailbox_maps': 'static:inbox/',
        'virtual_uid_maps': 'static:%d' % nobody.pw_uid,
        'virtual_gid_maps': 'static:%d' % nobody.pw_gid,
        'virtual_alias_maps': '',
        'delay_warning_time': '0',
        'bounce_queue_lifetime': '0',
        'maximal_queue_lifetime': '1h',
        'queue_run_delay': '1s',
        'minimal_backoff_time': '1s',
        'maximal_backoff_time': '2s',
        'smtputf8_enable': 'no',
        'message_size_limit': '10240000',
        'milter_protocol': '6',
        'milter_default_action': 'tempfail',
        'milter_connect_timeout': '10s',
        'milter_command_timeout': '20s',
        'milter_content_timeout': '60s',
        'in_flow_delay': '0',
        'smtpd_error_sleep_time': '0',
    }
    if milter_port is not None:
        conf['smtpd_milters'] = 'inet:127.0.0.1:%d' % milter_port
    conf.update(extra or {})
    return conf


def _stop_leftovers():
    for pf in list(LIVE):
        pf.stop(check=False)


atexit.register(_stop_leftovers)


class PostfixError(Exception):
    """PostfixError - the instance would not start or stop"""


class Postfix:
    """Postfix - one private instance: start, send, read mail, stop"""

    def __init__(self, milter_port=None, main=None, start_timeout=30.0):
        self.milter_port = milter_port
        self.extra = main or {}
        self.start_timeout = start_timeout
        self.dir = None
        self.port = None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, *args, check=True, timeout=60):
        """run - postfix -c ETC args...; returns (rc, output)"""
        cmd = ['postfix', '-c', self.path('etc')] + list(args)
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, errors='replace',
                           timeout=timeout, env=self.env())
        out = (r.stdout + r.stderr).strip()
        if check and r.returncode != 0:
            raise PostfixError('%s: exit %d: %s\nlog:\n%s' % (
                ' '.join(cmd), r.returncode, out, self.log_tail()))
        return r.returncode, out

    def env(self):
        env = dict(os.environ)
        env['MAIL_CONFIG'] = self.path('etc')
        # The sanitizer settings of the milter's runs mean nothing here.
        env.pop('LD_PRELOAD', None)
        return env

    def write_config(self):
        etc = self.path('etc')
        os.makedirs(etc)
        conf = main_cf(self.dir, self.milter_port, self.extra)
        with open(os.path.join(etc, 'main.cf'), 'w') as f:
            for k, v in conf.items():
                f.write('%s = %s\n' % (k, v))
        with open(os.path.join(etc, 'master.cf'), 'w') as f:
            f.write(MASTER_CF.format(port='127.0.0.1:%d' % self.port))

    def prepare(self):
        """prepare - directories with the owners and modes Postfix wants"""
        self.dir = mkdtemp('postfix')
        # Postfix daemons run as the postfix user and must reach queue/.
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.write_config()
        for sub in ('queue', 'data'):
            os.makedirs(self.path(sub))
        mail = self.path('mail')
        os.makedirs(mail)
        nobody = pwd.getpwnam('nobody')
        os.chown(mail, nobody.pw_uid, nobody.pw_gid)
        pf = pwd.getpwnam('postfix')
        os.chown(self.path('data'), pf.pw_uid, pf.pw_gid)
        # Creates the queue subdirectories with their owners and modes.
        self.run('set-permissions')
        self.run('check')

    def start(self):
        """start - prepare, start the master, wait for the SMTP port"""
        try:
            self.prepare()
            self.run('start')
            LIVE.add(self)
            if not wait_for(lambda: port_open(self.port), self.start_timeout):
                raise PostfixError('postfix did not listen on %d; log:\n%s'
                                   % (self.port, self.log_tail()))
        except BaseException:
            self.stop(check=False)
            raise
        return self.port

    def master_pid(self):
        """master_pid - the running master's pid, or None"""
        try:
            with open(self.path('queue', 'pid', 'master.pid')) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError, TypeError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def stop(self, check=True):
        """stop - postfix stop, wait for the master to go, remove the dir

        With check, a master that has to be killed is an error.
        """
        if self.dir is None:
            return
        problem = None
        try:
            problem = self._stop_master()
        finally:
            LIVE.discard(self)
            if not os.environ.get('KEEP_TMP'):
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if check and problem:
            raise PostfixError(problem)

    def _stop_master(self):
        """_stop_master - postfix stop, else abort and kill; problem/None"""
        problem = None
        pid = self.master_pid()
        if pid is not None:
            self.run('stop', check=False)
            if not wait_for(lambda: self.master_pid() is None, 20):
                problem = 'master %d did not stop; killed' % pid
                self.run('abort', check=False)
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
        # Daemons still exiting may hold files; give them a moment.
        wait_for(lambda: not self._children_left(), 10)
        return problem

    def _children_left(self):
        """_children_left - any process still running with our config"""
        needle = self.path('etc')
        for p in glob.glob('/proc/[0-9]*/environ'):
            try:
                with open(p, 'rb') as f:
                    if needle.encode() in f.read():
                        return True
            except OSError:
                continue
        return False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop(check=exc_type is None)
        return False

    # -- mail and logs ------------------------------------------------

    def log_text(self):
        try:
            with open(self.path('maillog'), errors='replace') as f:
                return f.read()
        except (OSError, TypeError):
            return ''

    def log_tail(self, n=30):
        return '\n'.join(self.log_text().splitlines()[-n:])

    def wait_log(self, regex, timeout=10.0):
        """wait_log - the first mail log line matching regex, or fail"""
        pat = re.compile(regex)

        def find():
            for line in self.log_text().splitlines():
                if pat.search(line):
                    return line
            return None
        line = wait_for(find, timeout)
        if line is None:
            raise AssertionError('maillog: got no line matching %r; tail:\n'
                                 '%s' % (regex, self.log_tail()))
        return line

    def messages(self):
        """messages - delivered messages (bytes), oldest first"""
        files = glob.glob(self.path('mail', 'inbox', 'new', '*'))
        files.sort(key=os.path.getmtime)
        out = []
        for name in files:
            with open(name, 'rb') as f:
                out.append(f.read())
        return out

    def wait_message(self, count=1, timeout=20.0):
        """wait_message - the count-th delivered message, or fail"""
        msgs = wait_for(lambda: len(self.messages()) >= count and
                        self.messages(), timeout)
        if not msgs:
            raise AssertionError('delivered: got %d messages, want %d; '
                                 'maillog tail:\n%s' % (
                                     len(self.messages()), count,
                                     self.log_tail()))
        return msgs[count - 1]

    def swaks(self, sender, rcpt, addr=None, helo='client.example',
              name=None, headers=(), body='test message', extra=(),
              timeout=60):
        """swaks - send one message; returns (rc, transcript)

        addr: XCLIENT ADDR (the client address the server and milter
        see); helo is sent both as XCLIENT HELO and as the EHLO name.
        headers: (name, value) pairs added to swaks' own.
        """
        cmd = ['swaks', '--server', '127.0.0.1', '--port', str(self.port),
               '--from', sender, '--to', rcpt, '--helo', helo,
               '--body', body, '--timeout', '30']
        if addr is not None:
            cmd += ['--xclient-addr', addr, '--xclient-helo', helo,
                    '--xclient-name', name or '[UNAVAILABLE]']
        for hname, hvalue in headers:
            cmd += ['--add-header', '%s: %s' % (hname, hvalue)]
        cmd += list(extra)
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, errors='replace',
                           timeout=timeout)
        return r.returncode, r.stdout + r.stderr


def header_values(message, name):
    """header_values - unfolded values of every header `name`, in order"""
    if isinstance(message, bytes):
        message = message.decode('utf-8', 'replace')
    head = re.split(r'\r?\n\r?\n', message, 1)[0]
    out = []
    cur = None
    for line in re.split(r'\r?\n', head):
        if line[:1] in (' ', '\t') and cur is not None:
            cur[1] += ' ' + line.strip()
            continue
        cur = None
        hname, sep, value = line.partition(':')
        if sep:
            cur = [hname, value.strip()]
            out.append(cur)
    return [' '.join(v.split()) for h, v in out
            if h.lower() == name.lower()]

