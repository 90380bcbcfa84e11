"""runner - the smallest test runner: functions in, `N passed, N failed` out.

    from runner import run, check, Skip
    def test_x():
        check(got == want, 'x: got %r, want %r' % (got, want))
    run([test_x])            # exits 1 if anything failed

Command line: names of tests to run (default all). Each test has a time
limit (SIGALRM, default 120 s). A test that raises Skip is reported as
skipped and counted in neither total. Python 3 standard library only.
"""

import os
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


class Skip(Exception):
    """Skip - raised by a test that cannot run here (reason in the text)"""


class TestTimeout(Exception):
    """TestTimeout - a test ran over its time limit"""


def check(cond, message):
    """check - assert with a message that says what was got and wanted"""
    if not cond:
        raise AssertionError(message)


def check_eq(got, want, what):
    """check_eq - got == want, else '<what>: got X, want Y'"""
    if got != want:
        raise AssertionError('%s: got %r, want %r' % (what, got, want))


def tmp_root():
    """tmp_root - tests/tmp under the source tree (made if missing)"""
    path = os.path.join(TOP, 'tests', 'tmp')
    os.makedirs(path, exist_ok=True)
    return path


def mkdtemp(prefix):
    """mkdtemp - a fresh directory under tests/tmp; caller removes it"""
    return tempfile.mkdtemp(prefix=prefix + '.', dir=tmp_root())


def build_dir():
    """build_dir - $BUILD as an absolute path (default build/)"""
    build = os.environ.get('BUILD', 'build')
    if not os.path.isabs(build):
        build = os.path.join(TOP, build)
    return build


def wait_for(pred, timeout=10.0, interval=0.05):
    """wait_for - poll pred() until true or timeout; returns its value"""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _alarm(signum, frame):
    raise TestTimeout('test ran over its time limit')


def _terminate(signum, frame):
    # Unwind (finally blocks, atexit) so no started process is left.
    raise SystemExit('killed by signal %d' % signum)


def run(tests, time_limit=120, setup=None, teardown=None):
    """run - run tests (functions), print results and the summary, exit

    setup/teardown run once around all tests; a setup failure counts as
    one failure and runs no test (teardown still runs).
    """
    wanted = set(sys.argv[1:])
    if wanted:
        tests = [t for t in tests if t.__name__ in wanted]
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    counts = [0, 0]
    try:
        _run_tests(tests, time_limit, setup, counts)
    finally:
        try:
            if teardown is not None:
                teardown()
        except Exception:
            traceback.print_exc()
            print('FAIL teardown')
            counts[1] += 1
    sys.stdout.flush()
    print('%d passed, %d failed' % (counts[0], counts[1]))
    sys.stdout.flush()
    sys.exit(1 if counts[1] else 0)


def _run_tests(tests, time_limit, setup, counts):
    """_run_tests - setup, then each test; counts [passed, failed]"""
    try:
        if setup is not None:
            setup()
    except Skip as e:
        print('skip %s: %s' % (os.path.basename(sys.argv[0]), e))
        return
    except Exception:
        traceback.print_exc()
        print('FAIL setup')
        counts[1] += 1
        return
    for t in tests:
        name = t.__name__
        start = time.monotonic()
        signal.alarm(time_limit)
        try:
            t()
        except Skip as e:
            print('skip %s: %s' % (name, e))
            continue
        except AssertionError as e:
            print('FAIL %s: %s' % (name, e))
            counts[1] += 1
            continue
        except Exception:
            print('FAIL %s: exception' % name)
            traceback.print_exc(file=sys.stdout)
            counts[1] += 1
            continue
        finally:
            signal.alarm(0)
        print('ok   %s (%.1fs)' % (name, time.monotonic() - start))
        counts[0] += 1
