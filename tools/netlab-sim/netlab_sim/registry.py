# The lab status registry (netsim/utils/status.py, cli/__init__.py lab_status_*):
# $HOME/.netlab/status.yaml, keys = instance ids ('default' or the multilab id), guarded by
# status.yaml.lock. netlab takes the lock with python-filelock (an exclusive flock on the lock
# file, polled every 50 ms, 3 s timeout) only to change the file; readers do not lock.
import datetime
import fcntl
import os
import time

from .log import LOCK_FILE, State, fatal
from .util import get_dotted, now_utc, to_yaml, write_text, yaml_loader, yaml_mod

LOCK_TIMEOUT = 3                    # FileLock(lock_file, timeout=3)
LOCK_POLL = 0.05                    # filelock's default poll_interval


class Timeout(Exception):
  """Raised like filelock.Timeout (netlab prints its class in the error message)."""


Timeout.__module__ = 'filelock._error'


def status_filename():
  return os.path.expanduser('~/.netlab/status.yaml')


def read_status():
  """utils.status.read_status: no lock; a missing or empty file is an empty registry."""
  path = status_filename()
  if not os.path.exists(path):
    return {}
  try:
    with open(path, encoding='utf-8') as f:
      data = yaml_mod().load(f, Loader=yaml_loader())
  except Exception:
    fatal(f'Cannot read lab status file {path}')
  if not data:
    return {}
  if not isinstance(data, dict):
    fatal(f'Cannot read lab status file {path}')
  return data


def acquire_lock(lock_path):
  """filelock.UnixFileLock.acquire: open (O_TRUNC, create if missing), flock LOCK_EX|LOCK_NB,
  close and retry every 50 ms, give up after 3 s. Returns the locked descriptor."""
  start = time.monotonic()
  while True:
    flags = os.O_RDWR | os.O_TRUNC | os.O_CLOEXEC
    if not os.path.exists(lock_path):
      flags |= os.O_CREAT
    fd = os.open(lock_path, flags, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      os.close(fd)
    else:
      if os.fstat(fd).st_nlink:           # not unlinked while we waited
        return fd
      os.close(fd)
    if time.monotonic() - start > LOCK_TIMEOUT:
      raise Timeout(f"The file lock '{lock_path}' could not be acquired.")
    time.sleep(LOCK_POLL)


def write_registry(path, text):
  delay = State.knobs.get('registry_torn_write', 0)
  if delay > 0:                           # like netlab: rewrite in place, readers may see it torn
    with open(path, 'w', encoding='utf-8') as f:
      f.flush()
      time.sleep(delay)
      f.write(text)
    return
  tmp = f'{path}.netlab-sim.{os.getpid()}'
  with open(tmp, 'w', encoding='utf-8') as f:
    f.write(text)
  os.replace(tmp, path)                   # atomic: lock-free readers never see a torn file


def change_status(callback):
  """utils.status.change_status: lock, read, modify, write, unlock. As in netlab, anything that
  goes wrong in between (a timeout, an unreadable file, an interrupt) ends in
  'Cannot lock lab status file ...' naming the exception class."""
  path = status_filename()
  lock_path = f'{path}.lock'
  status_dir = os.path.dirname(path)
  try:
    os.makedirs(status_dir, exist_ok=True)
  except OSError:
    fatal(f'Cannot create lab status directory {status_dir}')
  yaml_mod()                              # import PyYAML before taking the lock
  fd = None
  try:
    fd = acquire_lock(lock_path)
    status = read_status()
    callback(status)
    write_registry(path, to_yaml(status))
  except BaseException as ex:             # netlab: a bare except
    fatal(f'Cannot lock lab status file {lock_path}\n... {type(ex)}')
  finally:
    if fd is not None:
      os.close(fd)                        # releases the flock


def get_lab_id(topo):
  """utils.status.get_lab_id: defaults.multilab.id, else (also when it is empty or 0) 'default'."""
  return get_dotted(topo, 'defaults.multilab.id', 'default') or 'default'


def lab_status_update(status, topo, update=None, cb=None):
  """cli.lab_status_update, including its quirks (a 'log_line' key persists, duplicate log
  lines are suppressed unless 15 seconds passed, nothing happens in dry-run mode)."""
  if State.dry_run:
    return
  lab_id = get_lab_id(topo)
  if lab_id not in status or not isinstance(status[lab_id], dict):
    status[lab_id] = {'dir': os.getcwd()}
  entry = status[lab_id]
  if 'providers' not in entry:
    entry['providers'] = []
  if update is not None:
    entry.update(update)
    update = dict(update)
    if 'status' in update:
      update['log_line'] = update['status']
    if 'log_line' in update:
      log = entry.setdefault('log', [])
      now = now_utc()
      ts = entry.get('timestamp')
      stale = not isinstance(ts, datetime.datetime)
      if not stale:
        try:
          stale = (now - ts).seconds > 15
        except TypeError:
          pass
      if not log or f': {update["log_line"]}' not in log[-1] or stale:
        entry['timestamp'] = now
        log.append(f'{now.astimezone().isoformat()}: {update["log_line"]}')
  if cb is not None:
    cb(entry)


def lab_status_change(topo, new_status):
  if State.dry_run:
    return
  change_status(lambda s: lab_status_update(s, topo, update={'status': new_status}))


def lab_status_log(topo, line):
  change_status(lambda s: lab_status_update(s, topo, update={'log_line': line}))


def remove_lab_status(topo):
  """Removes the instance (netlab does it even with --dry-run)."""
  lab_id = get_lab_id(topo)
  change_status(lambda s: s.pop(lab_id, None))


def lock_directory():
  if os.path.exists(LOCK_FILE):
    os.utime(LOCK_FILE, None)
  else:
    write_text(LOCK_FILE, 'netlab lock file, do not remove')


def unlock_directory():
  if os.path.exists(LOCK_FILE):
    os.remove(LOCK_FILE)
