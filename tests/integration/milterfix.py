"""milterfix - what the milter-level tests share.

    ENV = {}
    def setup(): milterfix.start(ENV, 'test_x', base_options)
    def teardown(): milterfix.stop(ENV)

start() serves tests/zones with one Knot, then starts one sakimori with
the options base_options() returns (it may read ENV['knot']); stop()
stops both, even after a failure, and removes the work directory.
strip_comments() and our_ar() read the Authentication-Results header a
filter inserted. Python 3 stdlib only.
"""

import os
import re
import shutil

from knot import Knot
from milter_client import unfold
from runner import TOP, check_eq, mkdtemp
from sakimori_proc import Sakimori

AR = 'Authentication-Results'


def start(env, name, options, config_text=''):
    """start - Knot on tests/zones and a shared sakimori, in env"""
    env['dir'] = mkdtemp(name)
    env['knot'] = Knot(os.path.join(TOP, 'tests', 'zones'),
                       os.path.join(env['dir'], 'knot'))
    env['knot'].start()
    env['s'] = Sakimori(options(), config_text=config_text)
    env['s'].start()


def stop(env):
    """stop - the shared sakimori, then Knot, then the work directory"""
    try:
        if 's' in env:
            env['s'].stop()
    finally:
        if 'knot' in env:
            env['knot'].stop()
        if 'dir' in env:
            shutil.rmtree(env['dir'], ignore_errors=True)


def strip_comments(value):
    """strip_comments - RFC 8601 value without (comments), unfolded"""
    out, depth, i = [], 0, 0
    while i < len(value):
        ch = value[i]
        if ch == '\\' and depth > 0:
            i += 2
            continue
        if ch == '(':
            depth += 1
        elif ch == ')' and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(ch)
        i += 1
    text = unfold(''.join(out))
    return re.sub(r'\s*;\s*', '; ', text).strip()


def our_ar(out):
    """our_ar - (index, value) of the one A-R header inserted, or fail"""
    ins = [m for m in out['mods'] if m[0] in ('insheader', 'addheader')
           and m[-2].lower() == AR.lower()]
    check_eq(len(ins), 1, 'Authentication-Results added (mods %r)' %
             (out['mods'],))
    m = ins[0]
    return (m[1] if m[0] == 'insheader' else None), m[-1]
