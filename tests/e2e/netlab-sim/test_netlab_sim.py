# e2e tests for tools/netlab-sim: runs the simulator as a child process and checks the netlab behaviour it promises.
import ast
import datetime
import fcntl
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
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


@pytest.fixture
def sim(tmp_path):
  assert SIM.is_file() and os.access(SIM, os.X_OK), f'{SIM} missing: build the netlab-sim target'
  return Sim(tmp_path)


@pytest.fixture
def running_lab(sim):
  d = sim.labdir()
  sim.ok('up', cwd=d)
  return d


def assert_fails(r, rc=1, stderr=None, stdout_empty=False):
  assert r.returncode == rc, f'rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}'
  if stderr is not None:
    assert stderr in r.stderr, r.stderr
  if stdout_empty:
    assert r.stdout == ''


# -------------------------------------------------------------------------------- version/help

def test_version(sim):
  r = sim.ok('version')
  lines = r.stdout.splitlines()
  assert re.fullmatch(r'netlab version (\S+)', lines[0])
  assert lines[0] == 'netlab version 26.03'
  assert len(lines) > 5
  assert any('netlab-sim' in line for line in lines[1:])
  assert 'netlab-sim' not in lines[0]
  assert r.stderr == '[WARNING] netlab-sim: this is the netlab SIMULATOR - no lab devices are started\n'


def test_version_is_fast(sim):
  times = []
  for _ in range(5):
    t0 = time.monotonic()
    sim.ok('version')
    times.append(time.monotonic() - t0)
  assert sorted(times)[2] < 0.25, times


@pytest.mark.parametrize('args', [[], ['-h'], ['--help'], ['help']])
def test_help(sim, args):
  r = sim.ok(*args)
  assert 'netlab <command> <parameters>' in r.stdout


@pytest.mark.parametrize('cmd', ['up', 'down', 'inspect', 'status', 'create'])
def test_subcommand_help(sim, cmd):
  r = sim.ok(cmd, '--help')
  assert r.stdout.startswith(f'usage: netlab {cmd}')


def test_unknown_command(sim):
  r = sim.run('frobnicate', '-x')
  assert_fails(r, 1, 'Unknown command frobnicate', stdout_empty=True)


@pytest.mark.parametrize('args', [['up', '--bogus'], ['down', '-q'], ['inspect', '--format', 'xml'],
                                  ['status', '--format', 'csv'], ['down', '--what']])
def test_usage_errors(sim, args):
  r = sim.run(*args)
  assert_fails(r, 2, stdout_empty=True)
  assert r.stderr.startswith('usage: netlab'), r.stderr
  assert 'error:' in r.stderr


# -------------------------------------------------------------------------------- netlab up

def test_up_missing_topology(sim):
  d = sim.labdir(topology=None)
  r = sim.run('up', cwd=d)
  assert_fails(r, 1, 'Fatal error in create: Topology file topology.yml does not exist')
  r = sim.run('up', 'other.yml', cwd=d)
  assert_fails(r, 1, 'Fatal error in create: Topology file other.yml does not exist')
  assert sorted(os.listdir(d)) == []
  assert sim.registry() == {}


@pytest.mark.parametrize('topology', ['provider: clab\n', 'nodes: []\n', 'nodes: {}\n', 'nodes:\n',
                                      ''])
def test_up_nodes_missing_or_empty(sim, topology):
  d = sim.labdir(topology=topology)
  r = sim.run('up', cwd=d)
  assert_fails(r, 1, "Required topology element 'nodes' is missing or empty")
  assert sorted(os.listdir(d)) == ['topology.yml']
  assert sim.registry() == {}


def test_up_artifacts_and_registry(sim):
  d = sim.labdir()
  before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
  r = sim.ok('up', cwd=d)
  assert r.stdout.strip() and r.stderr.strip()
  for f in ARTIFACTS:
    assert (d / f).is_file(), f
  for node in ('r1', 'r2'):
    assert (d / 'host_vars' / node / 'topology.json').is_file()
    assert (d / 'node_files' / node).is_dir()
  assert (d / 'netlab.lock').read_text() == 'netlab lock file, do not remove'
  assert (d / 'topology.yml').read_text() == TOPO_2NODE

  clab = yaml.safe_load((d / 'clab.yml').read_text())
  assert clab['name'] == 'lab42'
  assert clab['topology']['nodes']['r1']['mgmt-ipv4'] == '192.168.121.101'
  assert clab['topology']['links'] == [{'endpoints': ['r1:eth1', 'r2:eth1']}]
  hosts = yaml.safe_load((d / 'hosts.yml').read_text())
  assert hosts['frr']['hosts']['r1'] == {'ansible_host': 'clab-lab42-r1', 'id': 1}
  gv = json.loads((d / 'group_vars/all/topology.json').read_text())
  assert gv['netlab_name'] == 'lab42' and gv['netlab_provider'] == 'clab'
  hv = json.loads((d / 'host_vars/r2/topology.json').read_text())
  assert hv['hostname'] == 'clab-lab42-r2' and 'name' not in hv and 'device' not in hv
  assert 'inventory=hosts.yml' in (d / 'ansible.cfg').read_text()

  reg = sim.registry()
  assert list(reg) == ['default']
  entry = reg['default']
  assert entry['dir'] == str(d)
  assert entry['status'] == 'started'
  assert entry['name'] == 'lab42'
  assert entry['providers'] == ['clab']
  assert entry['log'][-1].endswith(': started')
  for line in entry['log']:
    stamp = datetime.datetime.fromisoformat(line.split(': ', 1)[0])
    assert before <= stamp <= datetime.datetime.now(datetime.timezone.utc)
  assert any('OK: sudo -E containerlab deploy --reconfigure -t clab.yml' in l for l in entry['log'])


def test_up_quiet_and_options_accepted(sim):
  d = sim.labdir()
  r = sim.ok('up', '-q', '--no-tools', '--no-config', '--fast-config', '-p', 'clab', '-d', 'frr',
             '--plugin', 'multilab', '-s', 'defaults.multilab.id=7', '-s', 'name=ignored',
             'topology.yml', cwd=d)
  assert 'Initial configuration skipped' in r.stdout
  assert sim.registry()[7]['name'] == 'ml-7'


def test_up_refuses_locked_directory(sim, running_lab):
  before = {p: p.stat().st_mtime_ns for p in running_lab.rglob('*') if p.is_file()}
  r = sim.run('up', cwd=running_lab)
  assert_fails(r, 1, 'Cannot start another lab in the same directory')
  after = {p: p.stat().st_mtime_ns for p in running_lab.rglob('*') if p.is_file()}
  assert before == after


@pytest.mark.parametrize('dirname,labname', [
  ('lab-42', 'lab42'), ('7f3c', 'f3c'), ('netlab_topo_simple_frr_k3j9x0aa', 'netlabtoposi'),
  ('42-lab.x', 'labx'), ('___', 'default')])
def test_lab_name_from_directory(sim, dirname, labname):
  d = sim.labdir(dirname)
  sim.ok('up', '-q', cwd=d)
  nodes = json.loads(sim.ok('inspect', '-q', '--format', 'json', 'nodes', cwd=d).stdout)
  assert nodes['r1']['hostname'] == f'clab-{labname}-r1'
  assert sim.registry()['default']['name'] == labname


def test_explicit_name(sim):
  d = sim.labdir(topology='name: demo\n' + TOPO_2NODE)
  sim.ok('up', cwd=d)
  assert sim.registry()['default']['name'] == 'demo'
  d2 = sim.labdir('second')
  sim.ok('up', '-s', 'name=lab7', '-s', 'defaults.multilab.id=3', cwd=d2)
  assert sim.registry()[3]['name'] == 'lab7'
  node = json.loads(sim.ok('inspect', '-q', '--format', 'json', '--node', 'r2', cwd=d2).stdout)
  assert node['ansible_host'] == 'clab-lab7-r2'


def test_multilab_cli(sim):
  d = sim.labdir()
  sim.ok('up', '--plugin', 'multilab', '-s', 'defaults.multilab.id=12', 'topology.yml', cwd=d)
  nodes = json.loads(sim.ok('inspect', '-q', '--format', 'json', 'nodes', cwd=d).stdout)
  assert nodes['r1']['mgmt']['ipv4'] == '192.168.12.101'
  assert nodes['r2']['mgmt']['ipv4'] == '192.168.12.102'
  assert nodes['r1']['hostname'] == 'clab-ml-12-r1'
  clab = yaml.safe_load((d / 'clab.yml').read_text())
  assert clab['mgmt'] == {'network': 'nl_mgmt_12', 'ipv4-subnet': '192.168.12.0/24',
                          'bridge': 'nl_mgmt_12'}
  all_json = json.loads(sim.ok('status', '--all', '--format', 'json').stdout)
  assert list(all_json) == ['12']
  assert all_json['12']['name'] == 'ml-12'


def test_multilab_environment_and_topology(sim):
  d = sim.labdir()
  sim.ok('up', cwd=d, env={'NETLAB_PLUGIN': 'multilab', 'NETLAB_MULTILAB_ID': '21'})
  assert 21 in sim.registry()
  d2 = sim.labdir('b', topology='plugin: [ multilab ]\ndefaults.multilab.id: 22\n' + TOPO_2NODE)
  sim.ok('up', cwd=d2)
  node = json.loads(sim.ok('inspect', '-q', '--format', 'json', '--node', 'r1', cwd=d2).stdout)
  assert node['mgmt']['ipv4'] == '192.168.22.101'
  assert sorted(sim.registry()) == [21, 22]


def test_multilab_id_without_plugin_only_sets_instance(sim):
  d = sim.labdir()
  sim.ok('up', '-s', 'defaults.multilab.id=5', cwd=d)
  assert list(sim.registry()) == [5]
  node = json.loads(sim.ok('inspect', '-q', '--format', 'json', '--node', 'r1', cwd=d).stdout)
  assert node['mgmt']['ipv4'] == '192.168.121.101'


def test_multilab_bad_id(sim):
  d = sim.labdir()
  r = sim.run('up', '--plugin', 'multilab', '-s', 'defaults.multilab.id=500', cwd=d)
  assert_fails(r, 1, 'defaults.multilab.id')
  r = sim.run('up', '--plugin', 'multilab', cwd=d)
  assert_fails(r, 1, 'multilab plugin requires defaults.multilab.id parameter')
  assert not (d / 'netlab.lock').exists() and sim.registry() == {}


def test_instance_conflict(sim, running_lab):
  other = sim.labdir('other')
  r = sim.run('up', cwd=other)
  assert r.returncode == 1
  assert f"lab instance 'default' is already running in directory\n{running_lab}" in r.stdout
  assert 'aborting "netlab up" request' in r.stderr
  assert not (other / 'netlab.lock').exists()
  assert sim.registry()['default']['dir'] == str(running_lab)
  assert sim.registry()['default']['status'] == 'started'


def test_nodes_as_dict_with_device_image_id(sim):
  d = sim.labdir(topology="""\
provider: clab
defaults.device: frr
nodes:
  s1:
    device: eos
    id: 1
  h1:
    device: linux
    image: alpine:3.20
  r9:
  r3:
    id: 7
links:
- s1-r9
- s1:
  h1:
  r9:
""")
  sim.ok('up', cwd=d)
  listed = ast.literal_eval(sim.ok('inspect', '-q', '--instance', 'default', '--format', 'json',
                                   'list(nodes.keys())', cwd=d).stdout)
  assert listed == ['s1', 'h1', 'r9', 'r3']
  nodes = json.loads(sim.ok('inspect', '-q', '--format', 'json', 'nodes', cwd=d).stdout)
  assert [nodes[n]['id'] for n in listed] == [1, 2, 3, 7]
  assert nodes['h1']['box'] == 'alpine:3.20' and nodes['h1']['device'] == 'linux'
  assert nodes['s1']['box'] == 'ceos:4.34.2F' and nodes['s1']['mgmt']['ifname'] == 'Management0'
  assert nodes['s1']['interfaces'][0]['ifname'] == 'Ethernet1'
  assert nodes['r3']['mgmt'] == {'ifname': 'eth0', 'ipv4': '192.168.121.107',
                                 'mac': 'ca:fe:00:07:00:00'}
  assert 'loopback' not in nodes['h1'] and nodes['h1']['role'] == 'host'
  lan = nodes['h1']['interfaces'][0]
  assert lan['type'] == 'lan' and lan['ipv4'] == '172.16.0.2/24' and lan['bridge'] == 'lab42_2'
  eos = json.loads(sim.ok('inspect', '-q', '--format', 'json', '--node', 's1', cwd=d).stdout)
  assert eos['ansible_connection'] == 'network_cli'
  assert eos['ansible_host'] == '192.168.121.101'      # not docker: mgmt address, not hostname
  assert eos['ansible_network_os'] == 'eos'


def test_unknown_device_and_missing_device(sim):
  d = sim.labdir(topology='provider: clab\nnodes: [ r1 ]\n')
  assert_fails(sim.run('up', cwd=d), 1, 'No device type specified for node r1')
  assert_fails(sim.run('up', '-d', 'nosuchbox', cwd=d), 1, 'known device type identifier')
  assert sim.registry() == {} and not (d / 'netlab.lock').exists()


def test_default_provider_is_libvirt(sim):
  d = sim.labdir(topology='defaults.device: frr\nnodes: [ r1 ]\n')
  sim.ok('up', cwd=d)
  assert (d / 'Vagrantfile').is_file() and not (d / 'clab.yml').exists()
  node = json.loads(sim.ok('inspect', '-q', '--format', 'json', '--node', 'r1', cwd=d).stdout)
  assert node['ansible_host'] == '192.168.121.101' and 'hostname' not in node
  sim.ok('down', '--cleanup', cwd=d)
  assert sorted(os.listdir(d)) == ['topology.yml']


def test_up_snapshot(sim):
  d = sim.labdir()
  assert_fails(sim.run('up', '--snapshot', cwd=d), 1,
               'The topology snapshot file netlab.snapshot.pickle does not exist')
  sim.ok('up', cwd=d)
  r = sim.ok('up', '--snapshot', '--no-config', cwd=d)          # lock present: still allowed
  assert 'Using transformed lab topology from snapshot file netlab.snapshot.pickle' in r.stdout
  assert sim.registry()['default']['status'] == 'started'
  assert_fails(sim.run('up', '--snapshot', 'topology.yml', cwd=d), 1, 'not a netlab snapshot file')
  assert_fails(sim.run('up', '--snapshot', '-p', 'clab', cwd=d), 2)


# -------------------------------------------------------------------------------- netlab inspect

def test_inspect_nodes_json(sim, running_lab):
  r = sim.ok('inspect', '-q', '--format', 'json', 'nodes', cwd=running_lab)
  assert r.stderr == ''
  nodes = json.loads(r.stdout)
  assert r.stdout == json.dumps(nodes, indent=2, sort_keys=True) + '\n'
  assert list(nodes) == ['r1', 'r2']
  r1 = nodes['r1']
  for key in ('name', 'device', 'box', 'id', 'hostname', 'mgmt', 'interfaces', 'loopback', 'af',
              'mtu', 'role'):
    assert key in r1, key
  assert r1['name'] == 'r1' and r1['device'] == 'frr' and r1['id'] == 1
  assert r1['box'] == 'quay.io/frrouting/frr:10.5.3'
  assert r1['hostname'] == 'clab-lab42-r1'
  assert r1['mgmt'] == {'ifname': 'eth0', 'ipv4': '192.168.121.101', 'mac': 'ca:fe:00:01:00:00'}
  assert r1['loopback']['ipv4'] == '10.0.0.1/32'
  assert r1['af'] == {'ipv4': True} and r1['mtu'] == 1500 and r1['role'] == 'router'
  intf = r1['interfaces'][0]
  assert intf['ifname'] == 'eth1' and intf['ipv4'] == '10.1.0.1/30' and intf['type'] == 'p2p'
  assert intf['neighbors'] == [{'ifname': 'eth1', 'ipv4': '10.1.0.2/30', 'node': 'r2'}]
  assert nodes['r2']['interfaces'][0]['ipv4'] == '10.1.0.2/30'


def test_inspect_single_node(sim, running_lab):
  r = sim.ok('inspect', '-q', '--format', 'json', '--node', 'r1', cwd=running_lab)
  node = json.loads(r.stdout)
  assert 'name' not in node and 'device' not in node
  assert node['_netlab_version'] == '26.03'
  assert node['ansible_host'] == 'clab-lab42-r1'
  assert node['ansible_connection'] == 'docker'
  assert node['ansible_network_os'] == 'frr'
  assert node['ansible_user'] == 'root'
  assert node['mgmt']['ipv4'] == '192.168.121.101'
  r = sim.run('inspect', '-q', '--format', 'json', '--node', 'r9', cwd=running_lab)
  assert_fails(r, 1, 'r9 is not a glob or a valid node', stdout_empty=True)


def test_inspect_original_server_forms(sim, running_lab):
  r = sim.ok('inspect', '-q', '--instance', 'default', '--format', 'json', 'list(nodes.keys())',
             cwd=running_lab)
  assert ast.literal_eval(r.stdout.strip()) == ['r1', 'r2']
  r = sim.ok('inspect', '-q', '--instance', 'default', '--node', 'r2', '--format', 'yaml',
             cwd=running_lab)
  data = yaml.safe_load(r.stdout)
  assert isinstance(data, dict)
  assert data['ansible_host'] == 'clab-lab42-r2' and data['mgmt']['ipv4'] == '192.168.121.102'


def test_inspect_expressions(sim, running_lab):
  assert sim.ok('inspect', '-q', 'name', cwd=running_lab).stdout.strip() == 'lab42'
  assert json.loads(sim.ok('inspect', '-q', '--format', 'json', 'nodes.r2.mgmt',
                           cwd=running_lab).stdout)['ipv4'] == '192.168.121.102'
  r = sim.run('inspect', '-q', 'nodes.nosuch', cwd=running_lab)
  assert_fails(r, 1, 'Error trying to evaluate nodes.nosuch')


def test_inspect_instance_from_elsewhere(sim, running_lab):
  elsewhere = sim.tmp / 'elsewhere'
  elsewhere.mkdir()
  r = sim.ok('inspect', '-q', '-i', 'default', '--format', 'json', 'nodes', cwd=elsewhere)
  assert list(json.loads(r.stdout)) == ['r1', 'r2']
  r = sim.ok('inspect', '-i', 'default', 'name', cwd=elsewhere)     # not quiet: chdir notice
  assert r.stdout.startswith('[CHANGED] Selected instance default, current directory changed to')
  r = sim.run('inspect', '-q', '-i', '99', '--format', 'json', 'nodes', cwd=elsewhere)
  assert_fails(r, 1, 'Unknown instance 99', stdout_empty=True)


def test_inspect_without_snapshot(sim):
  empty = sim.labdir('empty', topology=None)
  r = sim.run('inspect', '-q', '--format', 'json', 'nodes', cwd=empty)
  assert_fails(r, 1, 'Could not get the data from netlab.snapshot.pickle or lab topology '
                     'topology.yml', stdout_empty=True)
  d = sim.labdir('topo-only')
  r = sim.ok('inspect', '-q', '--format', 'json', 'nodes', cwd=d)
  assert json.loads(r.stdout)['r2']['mgmt']['ipv4'] == '192.168.121.102'
  r = sim.ok('inspect', '--format', 'json', 'nodes', cwd=d)
  assert r.stdout.startswith(' [INFO] Using lab topology file topology.yml')
  assert sorted(os.listdir(d)) == ['topology.yml']


# -------------------------------------------------------------------------------- netlab status

@pytest.mark.parametrize('args', [['--all'], ['-i', 'default'], []])
def test_status_empty_registry(sim, args):
  r = sim.run('status', *args, '--format', 'json')
  assert r.returncode == 1
  assert json.loads(r.stdout) == {'warning': 'No netlab-managed labs'}


def test_status_all(sim, running_lab):
  data = json.loads(sim.ok('status', '--all', '--format', 'json').stdout)
  entry = data['default']
  assert {'dir', 'providers', 'status', 'name', 'log', 'timestamp'} <= set(entry)
  assert entry['dir'] == str(running_lab) and entry['status'] == 'started'
  assert isinstance(entry['timestamp'], str)
  datetime.datetime.fromisoformat(entry['timestamp'])


def test_status_instance(sim, running_lab):
  for args, cwd in ((['-i', 'default'], sim.tmp), ([], running_lab)):
    data = json.loads(sim.ok('status', *args, '--format', 'json', cwd=cwd).stdout)
    assert data['status'] == 'started' and data['dir'] == str(running_lab)
    r1 = data['nodes']['r1']
    assert r1['device'] == 'frr' and r1['mgmt'] == '192.168.121.101'
    assert r1['connection'] == 'docker' and r1['provider'] == 'clab'
    assert r1['provider_name'] == 'clab-lab42-r1' and r1['status'].startswith('Up ')
    assert r1['image'] == 'quay.io/frrouting/frr:10.5.3'


def test_status_errors_exit_zero(sim, running_lab):
  r = sim.ok('status', '-i', 'nope', '--format', 'json')
  assert json.loads(r.stdout) == {'error': 'Unknown lab instance nope'}
  r = sim.ok('status', '--format', 'json', cwd=sim.tmp)
  assert json.loads(r.stdout) == {'error': "There's no running lab in the current directory."}
  r = sim.run('status', '-i', 'nope')                            # text mode: exit 1
  assert_fails(r, 1, 'Unknown lab instance nope')


def test_status_not_started(sim):
  d = sim.labdir()
  assert sim.run('up', '-s', 'defaults.multilab.id=4', cwd=d,
                 env={'FAKE_NETLAB_FAIL': 'start'}).returncode == 1
  r = sim.ok('status', '-i', '4', '--format', 'json')
  assert json.loads(r.stdout) == {'error': 'Lab is not started, cannot display node/tool status'}


# -------------------------------------------------------------------------------- netlab down

def test_down_cleanup_keeps_user_files(sim, running_lab):
  (running_lab / 'configs').mkdir()
  (running_lab / 'configs' / 'init.cfg').write_text('hostname x\n')
  (running_lab / 'notes.txt').write_text('keep me\n')
  r = sim.ok('down', '--cleanup', cwd=running_lab)
  for f in ('clab.yml', 'hosts.yml', 'ansible.cfg', 'netlab.snapshot.pickle'):
    assert f'... removing {f}' in r.stdout
  for f in ('group_vars', 'host_vars', 'node_files'):
    assert f'... removing directory tree {f}' in r.stdout
  assert sorted(os.listdir(running_lab)) == ['configs', 'notes.txt', 'topology.yml']
  assert (running_lab / 'topology.yml').read_text() == TOPO_2NODE
  assert sim.registry() == {}


def test_down_without_cleanup(sim, running_lab):
  sim.ok('down', cwd=running_lab)
  assert not (running_lab / 'netlab.lock').exists()
  assert (running_lab / 'netlab.snapshot.pickle').exists() and (running_lab / 'clab.yml').exists()
  assert sim.registry() == {}
  sim.ok('up', cwd=running_lab)                                  # directory usable again


def test_down_without_snapshot(sim):
  d = sim.labdir()
  r = sim.run('down', '--cleanup', '--force', cwd=d)
  assert_fails(r, 1, 'The topology snapshot file netlab.snapshot.pickle does not exist')
  assert os.listdir(d) == ['topology.yml']


def test_down_instance_default_when_nothing_runs(sim):
  r = sim.run('down', '--instance', 'default', '--cleanup')
  assert_fails(r, 1, 'Unknown instance default')
  r = sim.run('down', '-i', 'default', '--cleanup')
  assert_fails(r, 1, 'Unknown instance default')


def test_down_instance_by_id(sim, running_lab):
  r = sim.ok('down', '--instance', 'default', '--cleanup', cwd=sim.tmp)
  assert f'Selected instance default, current directory changed to {running_lab}' in r.stdout
  assert sorted(os.listdir(running_lab)) == ['topology.yml']
  d = sim.labdir('ml')
  sim.ok('up', '-s', 'defaults.multilab.id=9', cwd=d)
  sim.ok('down', '-i', '9', '--cleanup', cwd=sim.tmp)
  assert sim.registry() == {} and os.listdir(d) == ['topology.yml']


def test_down_in_conflicting_directory_needs_confirmation(sim, running_lab):
  copy = sim.labdir('copy')
  sim.ok('up', '--snapshot', cwd=running_lab)
  for f in ('netlab.snapshot.pickle',):
    (copy / f).write_bytes((running_lab / f).read_bytes())
  r = sim.run('down', cwd=copy)                                   # stdin /dev/null: EOF on prompt
  assert_fails(r, 1, 'EOFError')
  assert 'Do you want to proceed?' in r.stdout
  sim.ok('down', '--force', '--force', cwd=copy)
  assert sim.registry()['default']['dir'] == str(running_lab)    # the running lab stays registered


# -------------------------------------------------------------------------------- knobs

def test_fail_create(sim):
  d = sim.labdir()
  r = sim.run('up', cwd=d, env={'FAKE_NETLAB_FAIL': 'create'})
  assert_fails(r, 1, 'Cannot proceed beyond this point due to errors')
  assert os.listdir(d) == ['topology.yml'] and sim.registry() == {}


def test_fail_start_leaves_lock_and_registration(sim):
  d = sim.labdir()
  r = sim.run('up', cwd=d, env={'FAKE_NETLAB_FAIL': 'start'})
  assert_fails(r, 1, 'sudo -E containerlab deploy --reconfigure -t clab.yml failed, aborting')
  assert (d / 'netlab.lock').exists() and (d / 'netlab.snapshot.pickle').exists()
  entry = sim.registry()['default']
  assert entry['status'] == 'starting provider clab'
  assert 'ERROR: sudo -E containerlab deploy --reconfigure -t clab.yml' in entry['log'][-1]
  assert_fails(sim.run('up', cwd=d), 1, 'Cannot start another lab in the same directory')
  sim.ok('up', '--snapshot', cwd=d)                              # resume after the failure
  assert sim.registry()['default']['status'] == 'started'
  sim.ok('down', '--cleanup', '--force', cwd=d)
  assert os.listdir(d) == ['topology.yml'] and sim.registry() == {}


def test_fail_down_and_force(sim, running_lab):
  env = {'FAKE_NETLAB_FAIL': 'down'}
  r = sim.run('down', '--cleanup', cwd=running_lab, env=env)
  assert_fails(r, 1, 'containerlab destroy --cleanup -t clab.yml failed')
  assert (running_lab / 'netlab.lock').exists() and (running_lab / 'clab.yml').exists()
  assert sim.registry()['default']['status'] == 'stopping clab provider'
  r = sim.ok('down', '--cleanup', '--force', cwd=running_lab, env=env)
  assert 'containerlab destroy --cleanup -t clab.yml failed' in r.stderr
  assert sorted(os.listdir(running_lab)) == ['clab-lab42', 'topology.yml']  # containers not removed
  assert sim.registry() == {}


def test_fail_down_default_only(sim, running_lab):
  env = {'FAKE_NETLAB_FAIL': 'down-default'}
  assert_fails(sim.run('down', '--instance', 'default', '--cleanup', env=env), 1)
  assert sim.registry()['default']['status'] == 'stopping clab provider'
  sim.ok('down', '--cleanup', cwd=running_lab, env=env)
  assert sim.registry() == {}


def test_fail_inspect_and_version(sim, running_lab):
  r = sim.run('inspect', '-q', '--format', 'json', 'nodes', cwd=running_lab,
              env={'FAKE_NETLAB_FAIL': 'inspect'})
  assert_fails(r, 1, 'Cannot read pickled data', stdout_empty=True)
  r = sim.run('version', env={'FAKE_NETLAB_FAIL': 'version'})
  assert r.returncode == 1 and r.stderr.strip() and not r.stdout.startswith('netlab version')


@pytest.mark.parametrize('cmd,args', [('up', ['up']), ('inspect', ['inspect', '-q', 'name']),
                                      ('version', ['version']), ('down', ['down'])])
def test_delays(sim, cmd, args):
  d = sim.labdir()
  if cmd in ('inspect', 'down'):
    sim.ok('up', cwd=d)
  t0 = time.monotonic()
  sim.ok(*args, cwd=d, env={f'FAKE_NETLAB_{cmd.upper()}_DELAY': '0.6'})
  assert time.monotonic() - t0 >= 0.6


def wait_for(predicate, timeout=10):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if predicate():
      return True
    time.sleep(0.02)
  return False


def test_hang_up_then_sigint(sim):
  d = sim.labdir()
  p = sim.popen('up', cwd=d, env={'FAKE_NETLAB_HANG': 'up'})
  try:
    assert wait_for(lambda: (d / 'netlab.lock').exists() and
                    'clab' in (sim.registry().get('default') or {}).get('providers', []))
    time.sleep(0.3)
    assert p.poll() is None
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
  finally:
    if p.poll() is None:
      p.kill()
  assert p.returncode == 1
  assert 'netlab up command was interrupted' in err.decode()
  entry = sim.registry()['default']
  assert entry['log'][-1].endswith('netlab up command was interrupted')
  assert (d / 'netlab.lock').exists()
  ev = sim.events()
  assert ev[-1]['event'] == 'exit' and ev[-1]['rc'] == 1 and ev[-1]['pid'] == p.pid


@pytest.mark.parametrize('cmd', ['down', 'inspect', 'version'])
def test_hang_other_commands_sigint(sim, running_lab, cmd):
  args = {'down': ['down'], 'inspect': ['inspect', '-q', 'name'], 'version': ['version']}[cmd]
  p = sim.popen(*args, cwd=running_lab, env={'FAKE_NETLAB_HANG': cmd})
  try:
    assert wait_for(lambda: any(e['event'] == 'start' and e['argv'][0] == cmd
                                for e in sim.events()))
    time.sleep(0.3)
    assert p.poll() is None
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
  finally:
    if p.poll() is None:
      p.kill()
  assert p.returncode == 1
  assert f'netlab {cmd} command was interrupted' in err.decode()


def test_hang_sigterm_kills(sim):
  p = sim.popen('version', env={'FAKE_NETLAB_HANG': 'version'})
  try:
    assert wait_for(lambda: any(e['event'] == 'start' for e in sim.events()))
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=10)
  finally:
    if p.poll() is None:
      p.kill()
  assert p.returncode == -signal.SIGTERM
  assert sim.events()[-1] == {**sim.events()[-1], 'event': 'exit', 'rc': -15}


def test_output_bytes(sim):
  d = sim.labdir()
  r = subprocess.run([str(SIM), 'up', '-q'], cwd=d, capture_output=True, preexec_fn=default_sigint,
                     env={**sim.env, 'FAKE_NETLAB_STDOUT_BYTES': '300000',
                          'FAKE_NETLAB_STDERR_BYTES': '1234567'}, timeout=60)
  assert r.returncode == 0
  assert sum(len(l) + 1 for l in r.stdout.split(b'\n') if b'stdout filler line' in l) == 300000
  filler_err = [l for l in r.stderr.split(b'\n') if b'stderr filler line' in l]
  assert 1234500 <= sum(len(l) + 1 for l in filler_err) <= 1234567
  assert len(r.stderr) >= 1234567 and len(r.stdout) >= 300000
  # without the knobs the outputs stay small
  small = sim.run('down', cwd=d)
  assert len(small.stdout) + len(small.stderr) < 10000


def test_large_output_is_streamed(sim):
  """40 MB of output must not be held in memory by the simulator."""
  d = sim.labdir()
  probe = (
    'import resource, subprocess, sys\n'
    'p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE,\n'
    '                     stdin=subprocess.DEVNULL)\n'
    'out, err = p.communicate()\n'
    'print(p.returncode, len(out), len(err),\n'
    '      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n')
  r = subprocess.run([sys.executable, '-c', probe, str(SIM), 'up', '-q'], cwd=d,
                     env={**sim.env, 'FAKE_NETLAB_STDOUT_BYTES': str(20 << 20),
                          'FAKE_NETLAB_STDERR_BYTES': str(20 << 20)},
                     capture_output=True, text=True, timeout=120)
  rc, out_len, err_len, maxrss_kib = map(int, r.stdout.split())
  assert rc == 0 and out_len >= 20 << 20 and err_len >= 20 << 20
  assert maxrss_kib < 80 * 1024, f'simulator used {maxrss_kib} KiB'


def test_event_log(sim, running_lab):
  sim.log.unlink()
  r = subprocess.run([str(SIM), 'inspect', '-q', 'name'], cwd=running_lab, env=sim.env,
                     stdin=subprocess.DEVNULL, capture_output=True, start_new_session=True)
  assert r.returncode == 0
  subprocess.run([str(SIM), 'version'], cwd=running_lab, env=sim.env, stdin=subprocess.PIPE,
                 capture_output=True)
  ev = sim.events()
  assert [e['event'] for e in ev] == ['start', 'exit', 'start', 'exit']
  start, exit_ = ev[0], ev[1]
  assert start['argv'] == ['inspect', '-q', 'name']
  assert start['cwd'] == str(running_lab)
  assert start['pid'] == exit_['pid'] and start['sid'] == start['pid'] == start['pgid']
  assert start['ppid'] == os.getpid()
  assert start['stdin_devnull'] is True and ev[2]['stdin_devnull'] is False
  assert start['home'] == str(sim.home)
  assert exit_['rc'] == 0 and start['time'] <= exit_['time'] <= time.time()
  sim.run('down', '-q', cwd=running_lab)
  assert sim.events()[-1]['rc'] == 2
  assert set(sim.events()[-2]) == {'event', 'argv', 'cwd', 'pid', 'ppid', 'pgid', 'sid',
                                    'stdin_devnull', 'home', 'time'}


def test_event_log_concurrent_appends(sim):
  procs = [sim.popen('version') for _ in range(20)]
  for p in procs:
    p.communicate(timeout=30)
    assert p.returncode == 0
  ev = sim.events()
  assert len(ev) == 40
  assert {e['pid'] for e in ev if e['event'] == 'exit'} == {p.pid for p in procs}


def test_config_file_overrides_env_and_is_reread(sim):
  cfg = sim.tmp / 'knobs.json'
  env = {'FAKE_NETLAB_CONFIG': str(cfg), 'FAKE_NETLAB_FAIL': 'version'}
  assert sim.run('version', env=env).returncode == 1               # file missing: env applies
  cfg.write_text(json.dumps({'fail': []}))
  sim.ok('version', env=env)                                        # file overrides env
  cfg.write_text(json.dumps({'fail': 'version,inspect', 'version_delay': 0.3}))
  t0 = time.monotonic()
  assert sim.run('version', env=env).returncode == 1
  assert time.monotonic() - t0 >= 0.3
  cfg.write_text(json.dumps({'fail': None}))                        # null: back to the env value
  assert sim.run('version', env=env).returncode == 1
  other_log = sim.tmp / 'other.jsonl'
  cfg.write_text(json.dumps({'log': str(other_log), 'fail': ''}))
  sim.ok('version', env=env)
  assert [json.loads(l)['event'] for l in other_log.read_text().splitlines()] == ['start', 'exit']


@pytest.mark.parametrize('env', [{'FAKE_NETLAB_FAIL': 'nosuchstage'}, {'FAKE_NETLAB_UP_DELAY': 'x'},
                                 {'FAKE_NETLAB_HANG': 'status'},
                                 {'FAKE_NETLAB_STDOUT_BYTES': '-1'}])
def test_bad_knobs_are_loud(sim, env):
  r = sim.run('version', env=env)
  assert r.returncode == 125 and 'netlab-sim: configuration error' in r.stderr


def test_bad_config_file(sim):
  cfg = sim.tmp / 'knobs.json'
  cfg.write_text(json.dumps({'fial': 'up'}))
  r = sim.run('version', env={'FAKE_NETLAB_CONFIG': str(cfg)})
  assert r.returncode == 125 and "unknown key 'fial'" in r.stderr


# -------------------------------------------------------------------------------- concurrency

def test_concurrent_labs_share_the_registry(sim):
  dirs = [sim.labdir(f'lab{i}') for i in range(1, 9)]
  procs = [sim.popen('up', '-q', '--plugin', 'multilab', '-s', f'defaults.multilab.id={i}',
                     cwd=d) for i, d in enumerate(dirs, 1)]
  for p in procs:
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err.decode()
  reg = sim.registry()
  assert sorted(reg) == list(range(1, 9))
  assert all(reg[i]['status'] == 'started' and reg[i]['dir'] == str(dirs[i - 1]) for i in reg)
  procs = [sim.popen('down', '--cleanup', cwd=d) for d in dirs]
  for p in procs:
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err.decode()
  assert sim.registry() == {}


def test_registry_lock_is_honoured(sim):
  d = sim.labdir()
  lock = sim.home / '.netlab' / 'status.yaml.lock'
  lock.parent.mkdir(parents=True)
  fd = os.open(lock, os.O_RDWR | os.O_CREAT)
  fcntl.flock(fd, fcntl.LOCK_EX)
  release = threading.Timer(0.8, lambda: os.close(fd))
  release.start()
  t0 = time.monotonic()
  sim.ok('up', cwd=d)
  release.join()
  assert time.monotonic() - t0 >= 0.8
  assert sim.registry()['default']['status'] == 'started'


# -------------------------------------------------------------------------------- build integration

def test_path_directory_provides_netlab():
  path_dir = BIN_DIR.parent / 'netlab-sim-path'
  link = path_dir / 'netlab'
  assert link.is_symlink() and os.readlink(link) == '../bin/netlab-sim'
  r = subprocess.run(['netlab', 'version'], env={'PATH': f'{path_dir}:/usr/bin:/bin'},
                     capture_output=True, text=True, stdin=subprocess.DEVNULL)
  assert r.returncode == 0 and r.stdout.startswith('netlab version ')


def test_dry_run(sim):
  d = sim.labdir()
  r = sim.ok('up', '--dry-run', cwd=d)
  assert 'DRY RUN: sudo -E containerlab deploy --reconfigure -t clab.yml' in r.stdout
  assert (d / 'clab.yml').exists() and not (d / 'netlab.lock').exists()
  assert sim.registry() == {}


def test_relative_log_path_survives_instance_chdir(sim, running_lab):
  elsewhere = sim.tmp / 'elsewhere'
  elsewhere.mkdir()
  sim.ok('down', '-i', 'default', cwd=elsewhere, env={'FAKE_NETLAB_LOG': 'rel.jsonl'})
  lines = (elsewhere / 'rel.jsonl').read_text().splitlines()
  assert [json.loads(l)['event'] for l in lines] == ['start', 'exit']
  assert not (running_lab / 'rel.jsonl').exists()
