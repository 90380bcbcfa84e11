"""redis_server - a real redis-server on loopback for one test.

    with RedisServer(workdir) as r:
        r.port, r.address ('127.0.0.1:PORT'), r.cli('GET', 'k'), r.stop()

Debian's redis-server, started with no persistence on a free port, bound
to 127.0.0.1 only; stopped (and killed if need be) on exit. stop() and
start() again keep the same port, so a test can take Redis away and
bring it back.
"""

import os
import shutil
import socket
import subprocess
import time

from runner import wait_for
from sakimori_proc import free_port


class RedisError(Exception):
    """RedisError - redis-server would not start"""


class RedisServer:
    """RedisServer - one redis-server process"""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, 'redis')
        os.makedirs(self.dir, exist_ok=True)
        self.exe = shutil.which('redis-server') or '/usr/bin/redis-server'
        self.port = free_port()
        self.address = '127.0.0.1:%d' % self.port
        self.proc = None

    def start(self):
        """start - run redis-server; wait until it answers PING"""
        cmd = [self.exe, '--port', str(self.port), '--bind', '127.0.0.1',
               '--save', '', '--appendonly', 'no', '--dir', self.dir,
               '--protected-mode', 'yes', '--logfile',
               os.path.join(self.dir, 'redis.log')]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_for(lambda: self._ping() or self.proc.poll() is not None,
                        10.0) or self.proc.poll() is not None:
            raise RedisError('redis-server did not start on port %d' %
                             self.port)
        return self

    def _ping(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port), 0.5) as s:
                s.sendall(b'PING\r\n')
                return s.recv(16).startswith(b'+PONG')
        except OSError:
            return False

    def cli(self, *words):
        """cli - one command through redis-cli; its output"""
        r = subprocess.run(['redis-cli', '-p', str(self.port)] +
                           list(words), capture_output=True, text=True,
                           timeout=10)
        return r.stdout.strip()

    def stop(self):
        """stop - terminate redis-server and wait for it"""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        wait_for(lambda: not self._ping(), 5.0)
        time.sleep(0.05)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
