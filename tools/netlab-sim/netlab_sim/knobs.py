# Test knobs: FAKE_NETLAB_* environment variables, overridden by the JSON object in the file named
# by FAKE_NETLAB_CONFIG (re-read on every invocation), plus per-topology overrides
# ("topologies") applied once the command knows which topology it works on.
import hashlib
import json
import os
import re
import signal
import sys
import time

from .log import State

KNOB_FLOATS = ('up_delay', 'down_delay', 'inspect_delay', 'version_delay', 'registry_torn_write')
KNOB_INTS = ('stderr_bytes', 'stdout_bytes')
KNOB_LISTS = {
  'fail': ('version', 'create', 'start', 'inspect', 'down', 'down-default'),
  'hang': ('up', 'down', 'inspect', 'version'),
}
KNOB_NAMES = KNOB_FLOATS + KNOB_INTS + tuple(KNOB_LISTS) + ('log', 'topologies')
TOPOLOGY_KNOBS = ('up_delay', 'down_delay', 'inspect_delay', 'fail', 'hang')
TOPOLOGY_SELECTORS = ('sha256', 'file', 'name')       # precedence: first wins
SIM_CONFIG_ERROR_RC = 125           # knob misconfiguration: never an exit code real netlab uses


class SimConfigError(Exception):
  """The test harness configured the simulator wrongly (bad knob value or config file)."""


def read_config_file(path):
  """Reads the FAKE_NETLAB_CONFIG JSON file; a missing file means no overrides."""
  last_error = None
  for _ in range(20):                       # tolerate a writer that replaces the file non-atomically
    try:
      with open(path, encoding='utf-8') as f:
        text = f.read()
    except FileNotFoundError:
      return {}
    except OSError as ex:
      raise SimConfigError(f'cannot read FAKE_NETLAB_CONFIG file {path}: {ex}')
    try:
      data = json.loads(text)
    except ValueError as ex:
      last_error = ex
      time.sleep(0.005)
      continue
    if not isinstance(data, dict):
      raise SimConfigError(f'FAKE_NETLAB_CONFIG file {path} must contain a JSON object')
    return data
  raise SimConfigError(f'FAKE_NETLAB_CONFIG file {path} is not valid JSON: {last_error}')


def parse_float(name, value):
  try:
    if isinstance(value, bool):
      raise ValueError
    result = float(value)
  except (TypeError, ValueError):
    raise SimConfigError(f'FAKE_NETLAB_{name.upper()} must be a number, got {value!r}')
  if not 0 <= result < float('inf'):
    raise SimConfigError(f'FAKE_NETLAB_{name.upper()} must be a non-negative finite number')
  return result


def parse_int(name, value):
  try:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
      raise ValueError
    result = int(value)
  except (TypeError, ValueError):
    raise SimConfigError(f'FAKE_NETLAB_{name.upper()} must be an integer, got {value!r}')
  if result < 0:
    raise SimConfigError(f'FAKE_NETLAB_{name.upper()} must not be negative')
  return result


def parse_list(name, value):
  if isinstance(value, str):
    items = [v.strip() for v in value.split(',') if v.strip()]
  elif isinstance(value, list) and all(isinstance(v, str) for v in value):
    items = [v.strip() for v in value if v.strip()]
  else:
    raise SimConfigError(f'{name} must be a comma-separated string or a list of strings')
  for item in items:
    if item not in KNOB_LISTS[name]:
      raise SimConfigError(
        f'FAKE_NETLAB_{name.upper()}: unknown value {item!r} (valid: {", ".join(KNOB_LISTS[name])})')
  return set(items)


def parse_value(name, value):
  if name in KNOB_FLOATS:
    return parse_float(name, value)
  if name in KNOB_INTS:
    return parse_int(name, value)
  return parse_list(name, value)


def parse_topologies(value):
  """{"<selector>:<value>": {knob: value, ...}, ...} -> {(selector, value): {knob: parsed}}."""
  if isinstance(value, str):
    try:
      value = json.loads(value)
    except ValueError as ex:
      raise SimConfigError(f'FAKE_NETLAB_TOPOLOGIES is not valid JSON: {ex}')
  if not isinstance(value, dict):
    raise SimConfigError('topologies must be a JSON object')
  out = {}
  for key, entry in value.items():
    selector, sep, match = key.partition(':')
    if not sep or selector not in TOPOLOGY_SELECTORS or not match:
      raise SimConfigError(f'topologies: key {key!r} must be one of '
                           f'{", ".join(s + ":<value>" for s in TOPOLOGY_SELECTORS)}')
    if selector == 'sha256':
      if not re.fullmatch('[0-9a-fA-F]{64}', match):
        raise SimConfigError(f'topologies: {key!r} is not a SHA-256 hex digest')
      match = match.lower()
    if not isinstance(entry, dict):
      raise SimConfigError(f'topologies: the value of {key!r} must be a JSON object')
    knobs = {}
    for name, v in entry.items():
      if name not in TOPOLOGY_KNOBS:
        raise SimConfigError(f'topologies: unknown knob {name!r} in {key!r} '
                             f'(valid: {", ".join(TOPOLOGY_KNOBS)})')
      if v is not None:
        knobs[name] = parse_value(name, v)
    out[(selector, match)] = knobs
  return out


def load_knobs():
  raw = {}
  for name in KNOB_NAMES:
    value = os.environ.get('FAKE_NETLAB_' + name.upper())
    if value is not None and value != '':
      raw[name] = value
  cfg = os.environ.get('FAKE_NETLAB_CONFIG')
  if cfg:
    for key, value in read_config_file(cfg).items():
      if key not in KNOB_NAMES:
        raise SimConfigError(f'unknown key {key!r} in FAKE_NETLAB_CONFIG file {cfg} '
                             f'(valid: {", ".join(KNOB_NAMES)})')
      if value is not None:                 # null: no override, the environment value applies
        raw[key] = value

  knobs = {}
  for name in KNOB_FLOATS:
    knobs[name] = parse_float(name, raw.get(name, 0))
  for name in KNOB_INTS:
    knobs[name] = parse_int(name, raw.get(name, 0))
  for name in KNOB_LISTS:
    knobs[name] = parse_list(name, raw.get(name, ''))
  log = raw.get('log')
  if log is not None and not isinstance(log, str):
    raise SimConfigError('FAKE_NETLAB_LOG must be a string')
  knobs['log'] = log or None
  knobs['topologies'] = parse_topologies(raw.get('topologies', {}))
  return knobs


def topology_identity(path):
  """(sha256 of the file, basename, the `name:` written in the file) of a topology file."""
  sha = base = own_name = None
  if path:
    base = os.path.basename(path)
    try:
      with open(path, 'rb') as f:
        data = f.read()
      sha = hashlib.sha256(data).hexdigest()
      from .util import yaml_loader, yaml_mod
      parsed = yaml_mod().load(data, Loader=yaml_loader())
      if isinstance(parsed, dict) and isinstance(parsed.get('name'), str):
        own_name = parsed['name']
    except Exception:
      pass
  return sha, base, own_name


def apply_topology_knobs(path, lab_name=None):
  """Overrides the global knobs with the entries of `topologies` that match the topology file
  (by SHA-256, then file name, then name: the `name:` in the file or the transformed lab name).
  Returns the matching keys, most specific first."""
  table = State.knobs.get('topologies') or {}
  if not table:
    return []
  sha, base, own_name = topology_identity(path)
  candidates = [('sha256', sha), ('file', base), ('name', own_name), ('name', lab_name)]
  matched = []
  for cand in candidates:
    if cand[1] is not None and cand in table and cand not in matched:
      matched.append(cand)
  for cand in reversed(matched):          # most specific last, so it wins
    State.knobs.update(table[cand])
  return [f'{s}:{v}' for s, v in matched]


def knob_fails(stage):
  return stage in State.knobs.get('fail', ())


_delayed = set()


def knob_delay(cmd):
  """Sleeps <cmd>_delay seconds, once per invocation (a lab with two providers starts twice)."""
  delay = State.knobs.get(f'{cmd}_delay', 0)
  if delay > 0 and cmd not in _delayed:
    _delayed.add(cmd)
    time.sleep(delay)


def knob_hang(cmd):
  """Blocks until a signal ends the process (SIGINT raises KeyboardInterrupt)."""
  if cmd not in State.knobs.get('hang', ()):
    return
  sys.stdout.flush()
  sys.stderr.flush()
  while True:
    signal.pause()
