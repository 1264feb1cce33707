"""netlab-sim e2e: netlab down."""
import os


from sim_harness import TOPO_2NODE, assert_fails


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


def test_down_dry_run_unregisters_like_netlab(sim, running_lab):
  """netlab's quirk: `down --dry-run` only prints the commands, but still removes the instance
  from the registry (remove_lab_status has no dry-run check); the lock and the files stay."""
  r = sim.ok('down', '--dry-run', '--cleanup', cwd=running_lab)
  assert 'DRY RUN: sudo -E containerlab destroy --cleanup -t clab.yml' in r.stdout
  assert 'DRY RUN: removing clab.yml' in r.stdout
  assert (running_lab / 'netlab.lock').exists() and (running_lab / 'clab.yml').exists()
  assert sim.registry() == {}
