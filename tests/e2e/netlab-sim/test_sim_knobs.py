"""netlab-sim e2e: test knobs (failures, delays, hangs, output volume, per-topology knobs), signals and the invocation log."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sim_harness import (NODES_EXPR, SIM, TOPO_2NODE, assert_fails, communicate_all,
                         default_sigint, wait_for)


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


def test_relative_log_path_survives_instance_chdir(sim, running_lab):
  elsewhere = sim.tmp / 'elsewhere'
  elsewhere.mkdir()
  sim.ok('down', '-i', 'default', cwd=elsewhere, env={'FAKE_NETLAB_LOG': 'rel.jsonl'})
  lines = (elsewhere / 'rel.jsonl').read_text().splitlines()
  assert [json.loads(l)['event'] for l in lines] == ['start', 'exit']
  assert not (running_lab / 'rel.jsonl').exists()


# -------------------------------------------------------------------------------- per-topology knobs

def write_knobs(sim, knobs):
  cfg = sim.tmp / 'knobs.json'
  tmp = sim.tmp / 'knobs.json.tmp'
  tmp.write_text(json.dumps(knobs))
  tmp.replace(cfg)
  return {'FAKE_NETLAB_CONFIG': str(cfg)}


def lab_with_file(sim, dirname, filename, topology):
  d = sim.labdir(dirname, topology=None)
  (d / filename).write_text(topology)
  return d


def test_topology_knobs_select_by_sha256_file_and_name(sim):
  named = 'name: alpha\n' + TOPO_2NODE
  a = lab_with_file(sim, 'a', 'slow.yml', TOPO_2NODE)       # matched by file name
  b = lab_with_file(sim, 'b', 'topology.yml', named)        # by the name: in the file
  c = lab_with_file(sim, 'c', 'topology.yml', TOPO_2NODE + '# c\n')   # by SHA-256
  m = lab_with_file(sim, 'm', 'topology.yml', TOPO_2NODE)   # by the lab name multilab gives it
  plain = lab_with_file(sim, 'plain', 'topology.yml', TOPO_2NODE)
  sha_c = hashlib.sha256((c / 'topology.yml').read_bytes()).hexdigest()
  env = write_knobs(sim, {'topologies': {
    'file:slow.yml': {'fail': 'start'},
    'name:alpha': {'fail': ['create']},
    f'sha256:{sha_c.upper()}': {'fail': 'start'},
    'name:ml-6': {'fail': 'create'},
    'file:nosuch.yml': {'hang': 'up'}}})
  # a failed start leaves its instance registered: every lab gets an instance of its own
  assert_fails(sim.run('up', '-s', 'defaults.multilab.id=1', 'slow.yml', cwd=a, env=env), 1,
               'containerlab deploy')
  assert_fails(sim.run('up', cwd=b, env=env), 1, 'FAKE_NETLAB_FAIL=create')
  assert_fails(sim.run('up', '-s', 'defaults.multilab.id=3', cwd=c, env=env), 1,
               'containerlab deploy')
  assert_fails(sim.run('up', '--plugin', 'multilab', '-s', 'defaults.multilab.id=6', cwd=m,
                       env=env), 1, 'FAKE_NETLAB_FAIL=create')
  sim.ok('up', cwd=plain, env=env)                          # no entry matches: global knobs
  assert (a / 'netlab.lock').exists() and not (b / 'netlab.lock').exists()


def test_topology_knobs_precedence_and_fallback(sim):
  d = lab_with_file(sim, 'p', 'topo.yml', 'name: beta\n' + TOPO_2NODE)
  sha = hashlib.sha256((d / 'topo.yml').read_bytes()).hexdigest()
  # sha256 beats file beats name; keys an entry leaves out (or sets to null) come from the
  # less specific entries, then from the global knobs
  env = write_knobs(sim, {'fail': 'create', 'topologies': {
    'name:beta': {'fail': 'start', 'down_delay': 0.5},
    'file:topo.yml': {'fail': 'down'},
    f'sha256:{sha}': {'fail': [], 'hang': None}}})
  sim.ok('up', 'topo.yml', cwd=d, env=env)
  t0 = time.monotonic()
  sim.ok('down', cwd=d, env=env)                            # down_delay from name:beta
  assert time.monotonic() - t0 >= 0.5


def test_topology_delays_apply_to_up_down_and_inspect(sim):
  slow = lab_with_file(sim, 'slow', 'topology.yml', 'name: slowlab\n' + TOPO_2NODE)
  fast = lab_with_file(sim, 'fast', 'topology.yml', TOPO_2NODE)
  env = write_knobs(sim, {'topologies': {'name:slowlab': {'up_delay': 0.7, 'down_delay': 0.7,
                                                          'inspect_delay': 0.7},
                                         'name:fast': {'hang': ['up', 'down', 'inspect']}}})
  for args in (['up'], ['inspect', '-q', 'name'], ['down']):
    t0 = time.monotonic()
    sim.ok(*args, cwd=slow, env=env)
    assert time.monotonic() - t0 >= 0.7, args
  # the other lab is not slowed down: the entry that would hang it names another lab
  env = write_knobs(sim, {'topologies': {'name:slowlab': {'hang': ['up', 'down', 'inspect']}}})
  for args in (['up'], ['inspect', '-q', 'name'], ['down']):
    sim.ok(*args, cwd=fast, env=env, timeout=120)


def test_topology_knobs_through_the_environment(sim):
  d = sim.labdir()
  env = {'FAKE_NETLAB_TOPOLOGIES': json.dumps({'file:topology.yml': {'fail': 'start'}})}
  assert_fails(sim.run('up', cwd=d, env=env), 1, 'containerlab deploy')


@pytest.mark.parametrize('topologies', [
  {'slow.yml': {'up_delay': 1}},                       # no selector
  {'path:slow.yml': {'up_delay': 1}},                  # unknown selector
  {'sha256:abc': {'up_delay': 1}},                     # not a digest
  {'file:slow.yml': {'stdout_bytes': 1}},              # not a per-topology knob
  {'file:slow.yml': {'up_delay': 'soon'}},             # bad value
  {'file:slow.yml': {'fail': 'explode'}},
  {'file:slow.yml': 5},
  [],
])
def test_bad_topology_knobs_are_loud(sim, topologies):
  env = write_knobs(sim, {'topologies': topologies})
  r = sim.run('version', env=env)
  assert r.returncode == 125 and 'netlab-sim: configuration error: ' in r.stderr


def test_event_log_lines_stay_whole_under_parallel_invocations(sim, running_lab):
  """Long argv (the one-call inspect expression) from many processes at once: every line is a
  whole JSON object and every invocation has its start and exit line."""
  procs = [sim.popen('inspect', '-q', '--format', 'json', NODES_EXPR, cwd=running_lab)
           for _ in range(12)] + [sim.popen('version') for _ in range(12)]
  results = communicate_all(procs, timeout=600)
  assert all(rc == 0 for rc, _, _ in results)
  lines = sim.log.read_text().splitlines()
  events = [json.loads(line) for line in lines]             # raises on a torn line
  for p in procs:
    mine = [e['event'] for e in events if e['pid'] == p.pid]
    assert mine == ['start', 'exit']
  assert [e['argv'][-1] for e in events if e['event'] == 'start'].count(NODES_EXPR) == 12
