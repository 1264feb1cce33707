"""netlab-sim e2e: the multilab plugin, instance ids, -i/--instance, the registry and labs in parallel."""
import fcntl
import json
import os
import threading
import time

import pytest
import yaml

from sim_harness import TOPO_2NODE, assert_fails, communicate_all, wait_for


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


UP_SEQUENCE = ['restarting lab', 'starting provider clab',
               'OK: sudo -E containerlab deploy --reconfigure -t clab.yml', 'clab workload started',
               'deploying initial configuration', 'initial configuration complete', 'started']


def log_events(entry):
  return [line.split(': ', 1)[1] for line in entry['log']]


def is_subsequence(wanted, events):
  it = iter(events)
  return all(any(e == w for e in it) for w in wanted)


def test_labs_come_up_and_go_down_in_parallel(sim):
  """Different ids in different directories, all at once, while a lock-free reader polls
  `status --all`: every lab registers, every registry change survives (no lost update), every
  read sees a whole registry."""
  dirs = {i: sim.labdir(f'lab{i}') for i in range(1, 13)}
  stop, reads = threading.Event(), []

  def reader():
    while not stop.is_set():
      reads.append(sim.run('status', '--all', '--format', 'json', timeout=300))

  def up(ids):
    return [sim.popen('up', '-q', '--plugin', 'multilab', '-s', f'defaults.multilab.id={i}',
                      cwd=dirs[i]) for i in ids]

  t = threading.Thread(target=reader)
  t.start()
  try:
    results = communicate_all(up(range(1, 9)), timeout=600)
    assert all(rc == 0 for rc, _, _ in results), results
    reg = sim.registry()
    assert sorted(reg) == list(range(1, 9))
    for i, entry in reg.items():
      assert entry['dir'] == str(dirs[i]) and entry['status'] == 'started'
      assert entry['name'] == f'ml-{i}' and entry['providers'] == ['clab']
      assert is_subsequence(UP_SEQUENCE, log_events(entry)), entry['log']
    # odd labs go down (by instance id, from one directory) while four more come up
    procs = [sim.popen('down', '--cleanup', '-i', str(i)) for i in (1, 3, 5, 7)] + up(range(9, 13))
    results = communicate_all(procs, timeout=600)
    assert all(rc == 0 for rc, _, _ in results), results
    assert sorted(sim.registry()) == [2, 4, 6, 8, 9, 10, 11, 12]
    assert all(os.listdir(dirs[i]) == ['topology.yml'] for i in (1, 3, 5, 7))
    results = communicate_all([sim.popen('down', '--cleanup', cwd=dirs[i])
                               for i in sorted(sim.registry())], timeout=600)
    assert all(rc == 0 for rc, _, _ in results), results
    assert sim.registry() == {}
  finally:
    stop.set()
    t.join()
  assert reads
  for r in reads:
    data = json.loads(r.stdout)
    if r.returncode == 1:
      assert data == {'warning': 'No netlab-managed labs'}
    else:
      assert r.returncode == 0 and data and all('dir' in e and 'log' in e for e in data.values())


def test_parallel_ups_with_the_same_id_one_wins(sim):
  """netlab's own race handling: whoever registers the id first wins; the others stop at the
  instance check or, if they passed it, at the registration ('race condition')."""
  dirs = [sim.labdir(f'race{i}') for i in range(4)]
  procs = [sim.popen('up', '-q', '--plugin', 'multilab', '-s', 'defaults.multilab.id=9', cwd=d)
           for d in dirs]
  results = communicate_all(procs, timeout=600)
  winners = [d for d, (rc, _, _) in zip(dirs, results) if rc == 0]
  assert len(winners) == 1, results
  for d, (rc, out, err) in zip(dirs, results):
    if d == winners[0]:
      continue
    assert rc == 1
    assert 'Fatal error in netlab: aborting "netlab up" request' in err or \
      f'Fatal error in netlab: race condition, lab instance already running in {winners[0]}' in err
    assert not (d / 'netlab.lock').exists()
  entry = sim.registry()[9]
  assert entry['dir'] == str(winners[0]) and (winners[0] / 'netlab.lock').exists()
  assert entry['status'] == 'started' or \
    entry['status'].startswith('conflict -- trying to start lab in ')


def test_registry_lock_timeout(sim):
  d = sim.labdir()
  lock = sim.home / '.netlab' / 'status.yaml.lock'
  lock.parent.mkdir(parents=True)
  fd = os.open(lock, os.O_RDWR | os.O_CREAT)
  fcntl.flock(fd, fcntl.LOCK_EX)
  try:
    r = sim.run('up', cwd=d, timeout=300)
  finally:
    os.close(fd)
  assert_fails(r, 1, f"Fatal error in netlab: Cannot lock lab status file {lock}\n"
                     f"... <class 'filelock._error.Timeout'>\n")
  assert not (d / 'netlab.lock').exists() and sim.registry() == {}


def test_registry_torn_write_knob(sim, running_lab):
  """registry_torn_write: the registry is rewritten in place like netlab does (here holding the
  truncated file for 60 s), so a reader that does not take the lock sees no labs, and a writer
  that takes it gives up after 3 s."""
  status = sim.home / '.netlab' / 'status.yaml'
  p = sim.popen('down', cwd=running_lab, env={'FAKE_NETLAB_REGISTRY_TORN_WRITE': '60'})
  try:
    assert wait_for(lambda: status.stat().st_size == 0, timeout=120)
    r = sim.run('status', '--all', '--format', 'json')
    assert r.returncode == 1 and json.loads(r.stdout) == {'warning': 'No netlab-managed labs'}
    r = sim.run('up', cwd=sim.labdir('other'), timeout=300)
    assert_fails(r, 1, 'Cannot lock lab status file')
  finally:
    p.kill()
    p.communicate(timeout=60)
  assert status.read_text() == ''                      # killed mid-write: the registry is lost


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


TOPO_LAN = """\
provider: clab
defaults.device: frr
nodes: [ r1, r2, r3 ]
links: [ r1-r2, [ r1, r2, r3 ] ]
"""


def up_multilab(sim, d, mlid, *extra, **kw):
  return sim.ok('up', '-q', '--plugin', 'multilab', '-s', f'defaults.multilab.id={mlid}', *extra,
                'topology.yml', cwd=d, **kw)


def test_multilab_changes_names_addresses_and_networks(sim):
  d = sim.labdir('ml', topology=TOPO_LAN)
  up_multilab(sim, d, 37)
  topo = sim.inspect_json(cwd=d)
  assert topo['name'] == 'ml-37' and topo['defaults']['name'] == 'ml-37'
  assert topo['addressing']['mgmt'] == {'ipv4': '192.168.37.0/24', '_network': 'nl_mgmt_37',
                                        '_bridge': 'nl_mgmt_37', 'start': 100,
                                        'mac': 'CA-FE-00-00-00-00'}
  libvirt = topo['defaults']['providers']['libvirt']
  assert libvirt['tunnel_id'] == '37' and libvirt['vifprefix'] == 'vgif_37'   # f-strings: str
  assert topo['defaults']['multilab']['change']['name'] == 'ml-37'            # evaluated in place
  assert topo['defaults']['multilab']['id'] == 37
  nodes = topo['nodes']
  for i, n in enumerate(('r1', 'r2', 'r3'), 1):
    assert nodes[n]['mgmt']['ipv4'] == f'192.168.37.{100 + i}'
    assert nodes[n]['hostname'] == f'clab-ml-37-{n}'
  lan = nodes['r3']['interfaces'][0]
  assert lan['bridge'] == 'ml-37_2' and lan['type'] == 'lan'
  clab = yaml.safe_load((d / 'clab.yml').read_text())
  assert clab['name'] == 'ml-37'
  assert clab['mgmt']['network'] == 'nl_mgmt_37' and clab['mgmt']['bridge'] == 'nl_mgmt_37'
  assert clab['topology']['nodes']['r2']['mgmt-ipv4'] == '192.168.37.102'
  assert {'endpoints': ['r3:eth1', 'ml-37_2:bni37n3i1']} in clab['topology']['links']
  hosts = yaml.safe_load((d / 'hosts.yml').read_text())
  assert hosts['frr']['hosts']['r1'] == {'ansible_host': 'clab-ml-37-r1', 'id': 1}
  assert (d / 'clab-ml-37').is_dir()
  reg = sim.registry()
  assert list(reg) == [37]
  assert reg[37]['name'] == 'ml-37' and reg[37]['dir'] == str(d) and reg[37]['status'] == 'started'
  status = json.loads(sim.ok('status', '-i', '37', '--format', 'json').stdout)
  assert status['nodes']['r3']['provider_name'] == 'clab-ml-37-r3'
  assert status['nodes']['r3']['mgmt'] == '192.168.37.103'


def test_multilab_libvirt(sim):
  d = sim.labdir('vm', topology='defaults.device: frr\nnodes: [ r1 ]\n')
  up_multilab(sim, d, 4)
  node = sim.inspect_json('--node', 'r1', cwd=d)
  assert node['mgmt']['ipv4'] == '192.168.4.101' and node['ansible_host'] == '192.168.4.101'
  assert (d / 'Vagrantfile').is_file()
  status = json.loads(sim.ok('status', '-i', '4', '--format', 'json').stdout)
  assert status['providers'] == ['libvirt']
  assert status['nodes']['r1']['provider_name'] == 'ml-4_r1'


@pytest.mark.parametrize('mlid', [1, 200])
def test_multilab_id_limits_accepted(sim, mlid):
  d = sim.labdir()
  up_multilab(sim, d, mlid)
  assert list(sim.registry()) == [mlid]
  assert sim.inspect_json('--node', 'r1', cwd=d)['mgmt']['ipv4'] == f'192.168.{mlid}.101'


@pytest.mark.parametrize('setting,message', [
  ('0', "IncorrectValue in multilab: attribute 'defaults.multilab.id' must be an integer between "
        "1 and 200"),
  ('201', "IncorrectValue in multilab: attribute 'defaults.multilab.id' must be an integer "
          "between 1 and 200"),
  ('-3', "attribute 'defaults.multilab.id' must be an integer between 1 and 200"),
  ('true', "IncorrectValue in multilab: attribute 'defaults.multilab.id' must be a true number "
           "(not a bool)"),
  ('abc', "IncorrectType in multilab: attribute 'defaults.multilab.id' must be an integer, found "
          "str"),
])
def test_multilab_id_validation(sim, setting, message):
  d = sim.labdir()
  r = sim.run('up', '--plugin', 'multilab', '-s', f'defaults.multilab.id={setting}', cwd=d)
  assert_fails(r, 1, message)
  assert 'Fatal error in netlab: Cannot proceed beyond this point due to errors' in r.stderr
  assert sorted(os.listdir(d)) == ['topology.yml'] and sim.registry() == {}


def test_multilab_id_as_string_and_float(sim):
  d = sim.labdir(topology='plugin: [ multilab ]\ndefaults.multilab.id: "17"\n' + TOPO_2NODE)
  sim.ok('up', '-q', cwd=d)                            # must_be_int converts the string
  assert list(sim.registry()) == [17]
  assert sim.inspect_json('defaults.multilab', cwd=d)['id'] == 17
  d2 = sim.labdir('float', topology='plugin: [ multilab ]\ndefaults.multilab.id: 2.5\n' + TOPO_2NODE)
  assert_fails(sim.run('up', cwd=d2), 1,
               "attribute 'defaults.multilab.id' must be an integer, found float")


def test_multilab_per_user_defaults_file(sim):
  """The documented per-user setup: plugin and id in the user defaults file (~/.netlab.yml)."""
  (sim.home / '.netlab.yml').write_text('plugin: [ multilab ]\nmultilab.id: 12\n')
  d = sim.labdir()
  sim.ok('up', '-q', cwd=d)
  assert sim.registry()[12]['name'] == 'ml-12'
  assert sim.inspect_json('--node', 'r2', cwd=d)['ansible_host'] == 'clab-ml-12-r2'


def test_used_instance_id_is_refused_until_it_is_down(sim):
  a, b = sim.labdir('a'), sim.labdir('b')
  up_multilab(sim, a, 7)
  r = sim.run('up', '--plugin', 'multilab', '-s', 'defaults.multilab.id=7', cwd=b)
  assert r.returncode == 1
  assert f"It looks like the lab instance '7' is already running in directory\n{a}." in r.stdout
  assert 'netlab status -i 7 --cleanup' in r.stdout
  assert r.stderr.endswith('Fatal error in netlab: aborting "netlab up" request\n')
  assert (b / 'clab.yml').is_file() and not (b / 'netlab.lock').exists()  # files stay, as in netlab
  assert sim.registry()[7]['dir'] == str(a) and sim.registry()[7]['status'] == 'started'
  up_multilab(sim, b, 8)                                   # another id in b is fine
  sim.ok('down', '--cleanup', cwd=b)
  sim.ok('down', '--cleanup', '-i', '7')
  up_multilab(sim, b, 7)                                   # free again
  assert sim.registry()[7]['dir'] == str(b)


def test_default_and_multilab_instances_coexist(sim, running_lab):
  d = sim.labdir('ml')
  up_multilab(sim, d, 3)
  reg = sim.registry()
  assert set(reg) == {'default', 3}
  assert reg['default']['dir'] == str(running_lab) and reg[3]['dir'] == str(d)
  other = sim.labdir('other')
  r = sim.run('up', cwd=other)                             # a second `default` is still refused
  assert_fails(r, 1, 'aborting "netlab up" request')
  assert f"lab instance 'default' is already running in directory\n{running_lab}." in r.stdout


def test_restart_in_the_same_directory(sim):
  d = sim.labdir()
  up_multilab(sim, d, 9)
  sim.ok('down', cwd=d)                                    # no cleanup: the snapshot stays
  up_multilab(sim, d, 9)
  entry = sim.registry()[9]
  assert entry['status'] == 'started' and entry['dir'] == str(d)
  sim.ok('up', '--snapshot', cwd=d)                        # lock present: resume is allowed
  assert sim.registry()[9]['status'] == 'started'


def test_instance_option_on_down_inspect_and_status(sim):
  d = sim.labdir('lab5')
  up_multilab(sim, d, 5)
  elsewhere = sim.tmp / 'elsewhere'
  elsewhere.mkdir()
  selected = f'[CHANGED] Selected instance 5, current directory changed to {d}\n'
  r = sim.ok('inspect', '-i', '5', '--format', 'json', 'name', cwd=elsewhere)
  assert r.stdout == selected + 'ml-5\n\n'
  assert sim.ok('inspect', '-q', '-i', '05', 'name', cwd=elsewhere).stdout == 'ml-5\n\n'
  assert sim.ok('inspect', '-q', '--instance', '5', '--node', 'r1', '--format', 'json',
                cwd=elsewhere).stdout == \
    sim.ok('inspect', '-q', '--node', 'r1', '--format', 'json', cwd=d).stdout
  r = sim.ok('status', '-i', '5', '--format', 'json', cwd=elsewhere)   # status never chdirs
  data = json.loads(r.stdout)
  assert data['dir'] == str(d) and data['name'] == 'ml-5' and set(data['nodes']) == {'r1', 'r2'}
  r = sim.ok('status', '--log', '-i', '5', '--format', 'json', cwd=elsewhere)
  assert json.loads(r.stdout)['instance'] == 5
  r = sim.ok('down', '-i', '5', '--cleanup', cwd=elsewhere)
  assert r.stdout.startswith(selected)
  assert sim.registry() == {} and os.listdir(d) == ['topology.yml']


def test_unknown_instance_errors(sim, running_lab):
  hint = "... Use 'netlab status --all' to display running instances"
  for cmd in (['inspect', '-q', '-i', '99', 'nodes'], ['down', '-i', '99', '--cleanup']):
    r = sim.run(*cmd)
    assert_fails(r, 1, stdout_empty=True)
    assert r.stderr == f'FatalError in {cmd[0]}: Unknown instance 99\n{hint}\n'
  r = sim.ok('status', '-i', '99', '--format', 'json')
  assert json.loads(r.stdout) == {'error': 'Unknown lab instance 99'}
  r = sim.run('status', '-i', '99')
  assert_fails(r, 1, 'FatalError in topology: Unknown lab instance 99')


def test_status_all_lists_every_instance(sim, running_lab):
  dirs = {i: sim.labdir(f'ml{i}') for i in (3, 12)}
  for i, d in dirs.items():
    up_multilab(sim, d, i)
  data = json.loads(sim.ok('status', '--all', '--format', 'json').stdout)
  assert set(data) == {'default', '3', '12'}
  assert data['3']['dir'] == str(dirs[3]) and data['12']['name'] == 'ml-12'
  assert all(e['status'] == 'started' and e['providers'] == ['clab'] for e in data.values())
  text = sim.ok('status', '--all').stdout.splitlines()
  assert text[0] == 'Active lab instance(s)'
  rows = {line.split()[0]: line.split() for line in text[3:]}
  assert rows['12'] == ['12', str(dirs[12]), 'started', 'clab']
  assert rows['default'][1] == str(running_lab)
