"""netlab-sim e2e: netlab status."""
import datetime
import json

import pytest

from sim_harness import assert_fails


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
