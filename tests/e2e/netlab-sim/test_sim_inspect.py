"""netlab-sim e2e: netlab inspect (data sources, expressions, --node, the one-call device data)."""
import ast
import json
import os

import pytest
import yaml

from sim_harness import NODES_EXPR, TOPO_2NODE, assert_fails


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


# -------------------------------------------------------------------------------- one-call device data

EXPR_TOPOLOGIES = {
  # FRR containers: docker connection, ansible_host is the container name
  'clab-docker': (TOPO_2NODE, []),
  # an SSH (network_cli) node, a docker one and a Linux host in one containerlab lab
  'clab-mixed': ("""\
provider: clab
nodes:
  s1: { device: eos }
  r1: { device: frr }
  h1: { device: linux }
links: [ s1-r1, [ s1, r1, h1 ] ]
""", []),
  # VMs: paramiko/network_cli, ansible_host is the management address
  'libvirt': ("""\
nodes:
  r1: { device: frr }
  x1: { device: iosv }
links: [ r1-x1 ]
""", []),
  'multilab': (TOPO_2NODE, ['--plugin', 'multilab', '-s', 'defaults.multilab.id=42']),
  # a container in a VM lab: the node keeps its own provider and gets clab group variables
  'own-provider': ("""\
defaults.device: frr
nodes:
  vm1: {}
  c1: { provider: clab }
links: [ vm1-c1 ]
""", []),
  # a VM in a containerlab lab: netlab makes libvirt the lab provider, the others keep clab
  'primary-switch': ("""\
provider: clab
defaults.device: frr
nodes:
  c1: {}
  vm1: { provider: libvirt, device: eos }
""", []),
  # provider inventory settings (fixed values and forwarded ports) from the defaults
  'inventory-settings': ("""\
provider: clab
defaults.device: eos
defaults.providers.clab.inventory.ansible_ssh_common_args: -o ProxyJump=jump
defaults.providers.clab.inventory_port_map.ssh: ansible_port
defaults.providers.clab.forwarded.ssh: 2000
nodes: [ s1, s2 ]
""", []),
}


@pytest.mark.parametrize('case', sorted(EXPR_TOPOLOGIES))
def test_node_expression_matches_inspect_node(sim, case):
  """The lab manager's one-call expression prints, for every node, exactly the JSON value
  `netlab inspect --node N` prints: same keys, values and formatting (re-serialised with
  netlab's indent=2/sort_keys it is byte-for-byte the --node output), from the lab directory
  and through -i."""
  topology, up_args = EXPR_TOPOLOGIES[case]
  d = sim.labdir(case, topology=topology)
  sim.ok('up', '-q', *up_args, cwd=d)
  r = sim.ok('inspect', '-q', '--format', 'json', NODES_EXPR, cwd=d)
  assert r.stderr == ''
  everything = json.loads(r.stdout)
  assert r.stdout == json.dumps(everything, indent=2, sort_keys=True) + '\n'
  names = list(json.loads(sim.ok('inspect', '-q', '--format', 'json', 'nodes', cwd=d).stdout))
  assert sorted(everything) == sorted(names)
  for name in names:
    single = sim.ok('inspect', '-q', '--format', 'json', '--node', name, cwd=d).stdout
    assert everything[name] == json.loads(single)
    assert json.dumps(everything[name], indent=2, sort_keys=True) + '\n' == single
  iid = '42' if case == 'multilab' else 'default'
  elsewhere = sim.tmp / 'elsewhere'
  elsewhere.mkdir()
  via_instance = sim.ok('inspect', '-q', '-i', iid, '--format', 'json', NODES_EXPR,
                        cwd=elsewhere).stdout
  assert via_instance == r.stdout


def test_node_expression_values(sim):
  """Spot checks of what the expression (and --node) returns for the interesting node kinds."""
  data = {}
  cases = ('clab-mixed', 'own-provider', 'primary-switch', 'inventory-settings', 'multilab')
  for iid, case in enumerate(cases, 1):                # several labs at once: one instance each
    topology, up_args = EXPR_TOPOLOGIES[case]
    d = sim.labdir(case, topology=topology)
    if case != 'multilab':
      up_args = up_args + ['-s', f'defaults.multilab.id={iid}']
    r = sim.run('up', '-q', *up_args, cwd=d)
    assert r.returncode == 0, r.stderr
    data[case] = sim.inspect_json(NODES_EXPR, cwd=d)
  mixed = data['clab-mixed']
  assert mixed['r1']['ansible_connection'] == 'docker'
  assert mixed['r1']['ansible_host'] == mixed['r1']['hostname'] == 'clab-clabmixed-r1'
  assert mixed['s1']['ansible_connection'] == 'network_cli'
  assert mixed['s1']['ansible_host'] == mixed['s1']['mgmt']['ipv4'] == '192.168.121.101'
  assert mixed['h1']['ansible_connection'] == 'docker' and mixed['h1']['role'] == 'host'
  assert all(n['_netlab_version'] == '26.03' and 'name' not in n and 'device' not in n
             for n in mixed.values())
  own = data['own-provider']
  assert own['c1']['provider'] == 'clab' and own['c1']['ansible_connection'] == 'docker'
  assert own['c1']['ansible_host'] == 'clab-ownprovider-c1' and own['c1']['box'].startswith('quay.io/')
  assert 'provider' not in own['vm1'] and own['vm1']['ansible_connection'] == 'paramiko'
  assert own['vm1']['ansible_host'] == '192.168.121.101' and own['vm1']['box'] == 'debian/bookworm64'
  switched = data['primary-switch']
  assert switched['c1']['provider'] == 'clab' and 'provider' not in switched['vm1']
  assert switched['vm1']['ansible_connection'] == 'network_cli'
  inv = data['inventory-settings']
  assert inv['s1']['ansible_ssh_common_args'] == '-o ProxyJump=jump'
  assert inv['s1']['ansible_port'] == 2001 and inv['s2']['ansible_port'] == 2002
  ml = data['multilab']
  assert ml['r2']['ansible_host'] == 'clab-ml-42-r2' and ml['r2']['mgmt']['ipv4'] == '192.168.42.102'


def test_mixed_provider_lab_files_and_status(sim):
  """A container in a VM lab: Vagrantfile for the VM, clab-augment.yml for the container, both
  providers started, stopped and cleaned up."""
  topology, _ = EXPR_TOPOLOGIES['own-provider']
  d = sim.labdir('own-provider', topology=topology)
  r = sim.ok('up', cwd=d)
  assert 'Recreating clab-augment.yml configuration file for clab provider' in r.stdout
  assert 'provider clab: executing sudo -E containerlab deploy --reconfigure -t clab-augment.yml' \
    in r.stdout
  assert 'vm1' in (d / 'Vagrantfile').read_text() and 'c1' not in (d / 'Vagrantfile').read_text()
  augment = yaml.safe_load((d / 'clab-augment.yml').read_text())
  assert list(augment['topology']['nodes']) == ['c1']
  entry = sim.registry()['default']
  assert entry['providers'] == ['libvirt', 'clab'] and entry['status'] == 'started'
  status = json.loads(sim.ok('status', '--format', 'json', cwd=d).stdout)
  assert status['nodes']['c1']['provider'] == 'clab'
  assert status['nodes']['c1']['provider_name'] == 'clab-ownprovider-c1'
  assert status['nodes']['vm1']['provider'] == 'libvirt'
  assert status['nodes']['vm1']['provider_name'] == 'ownprovider_vm1'
  r = sim.ok('down', '--cleanup', cwd=d)
  assert 'INFO Parsing & checking topology file=clab-augment.yml' in r.stderr
  assert 'Stopping clab nodes' in r.stdout and 'Stopping libvirt nodes' in r.stdout
  assert '... removing clab-augment.yml' in r.stdout and '... removing Vagrantfile' in r.stdout
  assert sorted(os.listdir(d)) == ['topology.yml']


def test_incompatible_node_provider(sim):
  d = sim.labdir(topology='provider: clab\ndefaults.device: frr\n'
                          'nodes:\n  r1: { provider: external }\n  r2: {}\n')
  r = sim.run('up', cwd=d)
  assert_fails(r, 1, 'Provider external specified in node r1 is not compatible with lab '
                     'topology provider clab')


@pytest.mark.parametrize('expr,message', [
  ('nodes.r1.nosuch', "Error trying to evaluate nodes.r1.nosuch: \"'Box' object has no attribute "
                      "'nosuch'\""),
  ("nodes['r9']", "Error trying to evaluate nodes['r9']: \"'r9'\""),
  ('nodes[', 'Error trying to evaluate nodes[: '),
  ('__import__("netsim.utils.log")', "No module named 'netsim.utils'"),
  ('__import__("netsim.outputs.common", fromlist=["x"]).adjust_inventory_host('
   'node={"device": "nosuch"}, defaults=defaults)',
   'Internal error: call to get_device_attribute with unknown device nosuch'),
])
def test_expression_errors_are_fatal(sim, running_lab, expr, message):
  r = sim.run('inspect', '-q', '--format', 'json', expr, cwd=running_lab)
  assert_fails(r, 1, stdout_empty=True)
  assert r.stderr.startswith('Fatal error in netlab: ') and message in r.stderr, r.stderr


def test_expression_sees_boxes(sim, running_lab):
  def value(expr):
    return sim.ok('inspect', '-q', expr, cwd=running_lab).stdout
  assert value('type(nodes).__name__') == 'Box\n\n'
  assert value('type(nodes.r1.interfaces).__name__') == 'BoxList\n\n'
  assert value('nodes.r1.mgmt.ipv4 == nodes.r1["mgmt.ipv4"] == nodes["r1.mgmt.ipv4"]') == 'True\n\n'
  assert value('"mgmt.ipv4" in nodes.r1') == 'True\n\n'
  assert value('dict(nodes) == nodes') == 'True\n\n'
  assert value('_netlab_version') == '26.03\n\n'


def test_inspect_node_all_adds_global_variables(sim, running_lab):
  node = sim.inspect_json('--node', 'r1', '--all', cwd=running_lab)
  assert node['netlab_name'] == 'lab42' and node['netlab_provider'] == 'clab'
  assert node['hosts']['r2'] == {'loopback': ['10.0.0.2'], 'ipv4': ['10.0.0.2', '10.1.0.2']}
  assert node['ansible_host'] == 'clab-lab42-r1'
