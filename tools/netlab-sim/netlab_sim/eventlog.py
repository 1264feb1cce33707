# The JSON-lines invocation log (FAKE_NETLAB_LOG): one "start" and one "exit" line per invocation.
import fcntl
import json
import os
import signal
import stat
import sys
import time


def stdin_is_devnull():
  try:
    st = os.fstat(0)
    null = os.stat('/dev/null')
  except OSError:
    return False
  return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


class EventLog:
  def __init__(self, path):
    self.path = os.path.abspath(path) if path else None   # -i changes the directory later
    self.started = False
    self.exited = False

  def write(self, record):
    """Appends one whole line. Concurrent invocations never interleave: the line is written
    with one write() on an O_APPEND descriptor while holding an exclusive flock on the log, and
    SIGINT/SIGTERM are blocked meanwhile so their handlers cannot write a second line into the
    middle of this one."""
    if not self.path:
      return
    line = (json.dumps(record, separators=(',', ':')) + '\n').encode()
    blocked = {signal.SIGINT, signal.SIGTERM}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
      fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
      try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(line)
        while view:                         # a short write continues under the same lock
          view = view[os.write(fd, view):]
        if record['event'] == 'start':
          self.started = True               # still under the blocked signals: exit() agrees
      finally:
        os.close(fd)                        # releases the flock
    except OSError as ex:
      try:
        sys.stderr.write(f'netlab-sim: cannot append to FAKE_NETLAB_LOG {self.path}: {ex}\n')
      except OSError:
        pass
    finally:
      signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

  def start(self, argv):
    try:
      cwd = os.getcwd()
    except OSError:
      cwd = None
    self.write({
      'event': 'start', 'argv': argv, 'cwd': cwd, 'pid': os.getpid(), 'ppid': os.getppid(),
      'pgid': os.getpgid(0), 'sid': os.getsid(0), 'stdin_devnull': stdin_is_devnull(),
      'home': os.environ.get('HOME'), 'time': time.time()})

  def exit(self, rc, **extra):
    """The "exit" line of an invocation whose "start" line was written (a signal can end
    the process before that: then neither is)."""
    if self.exited or not self.started:
      return
    self.exited = True
    self.write({'event': 'exit', 'pid': os.getpid(), 'rc': rc, 'time': time.time(), **extra})
