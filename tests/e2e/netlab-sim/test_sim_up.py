"""netlab-sim e2e: netlab up (create phase, outputs, names, nodes, providers, snapshot)."""
import ast
import datetime
import json
import os

import pytest
import yaml

from sim_harness import ARTIFACTS, TOPO_2NODE, assert_fails


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


def test_dry_run(sim):
  d = sim.labdir()
  r = sim.ok('up', '--dry-run', cwd=d)
  assert 'DRY RUN: sudo -E containerlab deploy --reconfigure -t clab.yml' in r.stdout
  assert (d / 'clab.yml').exists() and not (d / 'netlab.lock').exists()
  assert sim.registry() == {}


def test_unknown_provider(sim):
  d = sim.labdir()
  r = sim.run('up', '-p', 'docker', cwd=d)
  assert_fails(r, 1, 'Fatal error in topology: Unknown virtualization provider docker. Supported '
                     'providers are: clab, external, libvirt, virtualbox')
  assert sorted(os.listdir(d)) == ['topology.yml']
