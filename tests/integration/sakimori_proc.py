"""sakimori_proc - run build/sakimori in the foreground for a test.

    with Sakimori({'authserv_id': 'mx.test',
                   'dns_nameservers': ['127.0.0.1@%d' % dns_port]}) as s:
        c = MilterClient('127.0.0.1', s.port)
        ...
        s.wait_log(r'spf=pass', 5)
        rc, out = s.reload()

The daemon listens on a free loopback port (inet:PORT@127.0.0.1), its
control socket and config file live in a fresh directory under tests/tmp,
stderr goes to a file there. stop() (also on leaving the `with`) sends
SIGTERM and requires the daemon to exit 0 by itself; it is killed if not,
and the test fails. A process left running at interpreter exit is killed.
The binary comes from $BUILD (default build/). Python 3 stdlib only.
"""

import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from runner import build_dir, mkdtemp, wait_for

LIVE = set()
SANITIZER_RE = re.compile(r'ERROR: (Address|Leak|Undefined)Sanitizer|'
                          r'runtime error:|SUMMARY: \w+Sanitizer')


def _kill_leftovers():
    for proc in list(LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    LIVE.clear()


atexit.register(_kill_leftovers)


def _die_with_parent():
    """preexec: SIGKILL the child when the test process dies (Linux)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port(family=socket.AF_INET, host='127.0.0.1'):
    """free_port - a TCP port nobody listens on right now"""
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_open(port, host='127.0.0.1'):
    """port_open - does something accept TCP connections on host:port?"""
    try:
        socket.create_connection((host, port), 0.5).close()
        return True
    except OSError:
        return False


def option_args(options):
    """option_args - {'k': v} or ['k=v'] to ['-o', 'k=v', ...]

    A list or tuple value becomes '{a,b}' (libconfuse list syntax).
    """
    if options is None:
        return []
    if isinstance(options, dict):
        items = []
        for k, v in options.items():
            if isinstance(v, (list, tuple)):
                v = '{' + ','.join(str(x) for x in v) + '}'
            elif isinstance(v, bool):
                v = 'true' if v else 'false'
            items.append('%s=%s' % (k, v))
    else:
        items = list(options)
    args = []
    for item in items:
        args += ['-o', item]
    return args


class SakimoriError(Exception):
    """SakimoriError - the daemon did not start or did not stop cleanly"""


class Sakimori:
    """Sakimori - one daemon process, its port, socket, config and log"""

    def __init__(self, options=None, config_text='', build=None,
                 args=(), start_timeout=20.0, env=None):
        self.build = build or build_dir()
        self.exe = os.path.join(self.build, 'sakimori')
        self.ctl = os.path.join(self.build, 'sakimori-ctl')
        self.options = options
        self.config_text = config_text
        self.args = list(args)
        self.start_timeout = start_timeout
        self.env = env
        self.dir = None
        self.proc = None
        self.port = None
        self.exit_code = None

    # -- start and stop ------------------------------------------------

    def start(self):
        """start - run the daemon; return the milter port once it accepts"""
        if not os.access(self.exe, os.X_OK):
            raise SakimoriError('%s: not built' % self.exe)
        self.dir = mkdtemp('sakimori')
        self.socket = os.path.join(self.dir, 'ctl.sock')
        self.config = os.path.join(self.dir, 'sakimori.conf')
        self.stderr_path = os.path.join(self.dir, 'stderr')
        with open(self.config, 'w') as f:
            f.write(self.config_text or '# test config: defaults\n')
        for attempt in range(3):
            if self._start_once():
                return self.port
            if 'in use' not in self.log_text():
                break
        text = self.log_text()
        self._cleanup_dir()
        raise SakimoriError('sakimori did not start; stderr:\n' + text)

    def _start_once(self):
        self.port = free_port()
        cmd = [self.exe, '-f', '-c', self.config,
               '-o', 'listen=inet:%d@127.0.0.1' % self.port,
               '-o', 'control_socket=%s' % self.socket,
               '-o', 'state_dir=%s' % os.path.join(self.dir, 'state')]
        cmd += option_args(self.options) + self.args
        self.cmd = cmd
        self.stderr = open(self.stderr_path, 'a')
        env = dict(os.environ)
        env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=1')
        env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=1')
        env.update(self.env or {})
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
            stderr=self.stderr, env=env, preexec_fn=_die_with_parent)
        LIVE.add(self.proc)
        ok = wait_for(lambda: self.proc.poll() is not None or
                      port_open(self.port), self.start_timeout)
        if ok and self.proc.poll() is None:
            return True
        self._reap()
        return False

    def _reap(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.exit_code = self.proc.wait()
            LIVE.discard(self.proc)
        if getattr(self, 'stderr', None) is not None:
            self.stderr.close()
            self.stderr = None

    def running(self):
        """running - is the daemon process still alive?"""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """stop - SIGTERM, wait; fail if it must be killed, exits non-zero
        or a sanitizer reported anything. Returns the exit code. The
        process is gone and its directory removed (unless KEEP_TMP) in
        every case, interrupted or not."""
        if self.proc is None:
            return self.exit_code
        try:
            problem = self._terminate(timeout)
            text = self.log_text()
        finally:
            self._reap()
            self.proc = None
            self._cleanup_dir()
        code = self.exit_code
        if problem is None and code != 0:
            problem = 'exited %s after SIGTERM' % code
        if problem is None and SANITIZER_RE.search(text):
            problem = 'sanitizer report'
        if problem is not None:
            raise SakimoriError('sakimori %s; stderr tail:\n%s' %
                                (problem, '\n'.join(text.splitlines()[-40:])))
        return code

    def _terminate(self, timeout):
        """_terminate - SIGTERM and wait; a problem as text, or None"""
        if self.proc.poll() is not None:
            return 'had died before stop (exit %s)' % self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return 'did not exit %ds after SIGTERM' % timeout
        return None

    def kill(self):
        """kill - SIGKILL, no questions, and remove the directory"""
        self._reap()
        self.proc = None
        self._cleanup_dir()

    def _cleanup_dir(self):
        if self.dir is not None and not os.environ.get('KEEP_TMP'):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # The test failed already: say what the daemon said, stop it
            # without masking the first error.
            try:
                self.stop()
            except SakimoriError as e:
                print('note: %s' % e)
            finally:
                self.kill()
            return False
        self.stop()
        return False

    # -- the log -------------------------------------------------------

    def log_text(self):
        """log_text - all stderr so far"""
        try:
            with open(self.stderr_path, errors='replace') as f:
                return f.read()
        except (OSError, AttributeError, TypeError):
            return ''

    def log_lines(self):
        """log_lines - stderr so far, one string a line"""
        return self.log_text().splitlines()

    def mark(self):
        """mark - a position in the log for wait_log(..., since=mark)"""
        return len(self.log_lines())

    def wait_log(self, regex, timeout=5.0, since=0):
        """wait_log - the first line after `since` matching regex

        Raises AssertionError with the log tail if none appears in time.
        """
        pat = re.compile(regex)

        def find():
            for line in self.log_lines()[since:]:
                if pat.search(line):
                    return line
            return None
        line = wait_for(find, timeout)
        if line is None:
            tail = '\n'.join(self.log_lines()[since:][-30:])
            raise AssertionError('log: got no line matching %r, want one; '
                                 'log since mark:\n%s' % (regex, tail))
        return line

    def grep(self, regex, since=0):
        """grep - every log line after `since` matching regex"""
        pat = re.compile(regex)
        return [l for l in self.log_lines()[since:] if pat.search(l)]

    # -- control -------------------------------------------------------

    def control(self, *words, timeout=20.0):
        """control - BUILD/sakimori-ctl -s SOCKET words...; (rc, output)"""
        r = subprocess.run([self.ctl, '-s', self.socket] + list(words),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors='replace', timeout=timeout)
        return r.returncode, (r.stdout + r.stderr).strip()

    def reload(self, config_text=None, signal_only=False):
        """reload - optionally rewrite the config, then reload

        Through sakimori-ctl (returns (rc, output)), or with SIGUSR1 when
        signal_only (returns (None, '')).
        """
        if config_text is not None:
            with open(self.config, 'w') as f:
                f.write(config_text)
        if signal_only:
            self.proc.send_signal(signal.SIGUSR1)
            return None, ''
        return self.control('reload')
