"""Shared helpers of the netlab-sim e2e suite: run the simulator as a child process with its own
HOME (so its own registry), environment and lab directories under pytest's tmp_path."""
import json
import os
import pathlib
import signal
import subprocess
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
BIN_DIR = pathlib.Path(os.environ.get('RL_BIN_DIR') or REPO / 'build' / 'bin')
SIM = BIN_DIR / 'netlab-sim'

TOPO_2NODE = """\
provider: clab
defaults.device: frr
nodes: [ r1, r2 ]
links: [ r1-r2 ]
"""

ARTIFACTS = ['netlab.snapshot.pickle', 'clab.yml', 'hosts.yml', 'ansible.cfg',
             'group_vars/all/topology.json', 'netlab.lock']

# The lab manager's one-call device data: every node's `inspect --node` view, keyed by node name.
NODES_EXPR = ('type(nodes)({n: dict(__import__("netsim.outputs.common", '
              'fromlist=["adjust_inventory_host"]).adjust_inventory_host(node=nodes[n], '
              'defaults=defaults, group_vars=True), _netlab_version=_netlab_version) '
              'for n in nodes})')


def default_sigint():
  signal.signal(signal.SIGINT, signal.SIG_DFL)     # like a proper spawner: no inherited SIG_IGN


class Sim:
  """Runs netlab-sim with an isolated HOME and environment."""

  def __init__(self, tmp_path):
    self.tmp = tmp_path
    self.home = tmp_path / 'home'
    self.home.mkdir()
    self.log = tmp_path / 'sim.jsonl'
    self.env = {k: v for k, v in os.environ.items()
                if not k.upper().startswith(('NETLAB_', 'FAKE_NETLAB_'))}
    self.env['HOME'] = str(self.home)
    self.env['FAKE_NETLAB_LOG'] = str(self.log)

  def labdir(self, name='lab-42', topology=TOPO_2NODE):
    d = self.tmp / name
    d.mkdir(parents=True)
    if topology is not None:
      (d / 'topology.yml').write_text(topology)
    return d

  def popen(self, *args, cwd=None, env=None, stdin=subprocess.DEVNULL, **kw):
    e = dict(self.env)
    e.update(env or {})
    return subprocess.Popen([str(SIM), *args], cwd=cwd or self.tmp, env=e, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=default_sigint, **kw)

  def run(self, *args, cwd=None, env=None, timeout=60, stdin=subprocess.DEVNULL, input=None):
    e = dict(self.env)
    e.update(env or {})
    return subprocess.run([str(SIM), *args], cwd=cwd or self.tmp, env=e,
                          stdin=stdin if input is None else None, input=input,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=default_sigint)

  def ok(self, *args, **kw):
    r = self.run(*args, **kw)
    assert r.returncode == 0, f'rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}'
    return r

  def registry(self):
    path = self.home / '.netlab' / 'status.yaml'
    if not path.exists():
      return {}
    return yaml.safe_load(path.read_text()) or {}

  def events(self):
    if not self.log.exists():
      return []
    return [json.loads(line) for line in self.log.read_text().splitlines()]

  def inspect_json(self, *args, cwd):
    return json.loads(self.ok('inspect', '-q', '--format', 'json', *args, cwd=cwd).stdout)


def assert_fails(r, rc=1, stderr=None, stdout_empty=False):
  assert r.returncode == rc, f'rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}'
  if stderr is not None:
    assert stderr in r.stderr, r.stderr
  if stdout_empty:
    assert r.stdout == ''


def wait_for(predicate, timeout=30):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if predicate():
      return True
    time.sleep(0.02)
  return False


def communicate_all(procs, timeout=120):
  """Waits for every process; returns [(returncode, stdout, stderr)] in order."""
  out = []
  for p in procs:
    stdout, stderr = p.communicate(timeout=timeout)
    out.append((p.returncode, stdout.decode(), stderr.decode()))
  return out
