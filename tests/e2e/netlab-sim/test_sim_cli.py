"""netlab-sim e2e: version, help, usage errors, the launcher and the build layout."""
import shutil
import os
import re
import subprocess
import sys

import pytest

from sim_harness import BIN_DIR, SIM, assert_fails


def test_version(sim):
  r = sim.ok('version')
  lines = r.stdout.splitlines()
  assert re.fullmatch(r'netlab version (\S+)', lines[0])
  assert lines[0] == 'netlab version 26.03'
  assert len(lines) > 5
  assert any('netlab-sim' in line for line in lines[1:])
  assert 'netlab-sim' not in lines[0]
  assert r.stderr == '[WARNING] netlab-sim: this is the netlab SIMULATOR - no lab devices are started\n'


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


def test_path_directory_provides_netlab():
  path_dir = BIN_DIR.parent / 'netlab-sim-path'
  link = path_dir / 'netlab'
  assert link.is_symlink() and os.readlink(link) == '../bin/netlab-sim'
  r = subprocess.run(['netlab', 'version'], env={'PATH': f'{path_dir}:/usr/bin:/bin'},
                     capture_output=True, text=True, stdin=subprocess.DEVNULL)
  assert r.returncode == 0 and r.stdout.startswith('netlab version ')


def test_version_loads_only_what_it_needs(sim):
  """`netlab version` is what a server runs first and often: it must not import PyYAML or the
  transformation (the property that keeps it cheap, checked without timing it)."""
  r = subprocess.run([sys.executable, '-X', 'importtime', str(SIM), 'version'], env=sim.env,
                     capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
  assert r.returncode == 0 and r.stdout.startswith('netlab version 26.03\n')
  imported = {line.rsplit('|', 1)[-1].strip() for line in r.stderr.splitlines()
              if line.startswith('import time:')}
  assert 'netlab_sim.main' in imported
  assert not {'yaml', 'argparse', 'netlab_sim.transform', 'netlab_sim.registry'} & imported


def test_version_names_the_package_location(sim):
  lines = sim.ok('version').stdout.splitlines()
  pkg = str(BIN_DIR.parent / 'share' / 'netlab-sim' / 'netlab_sim')
  assert lines[2] == f"  package location: ['{pkg}'] (netlab-sim: simulator, no netsim package)"


def test_launcher_works_through_symlinks_and_copies(sim, tmp_path):
  # a symlink anywhere, under any name: the package is found through the link's target
  links = tmp_path / 'links'
  links.mkdir()
  (links / 'netlab').symlink_to(SIM)
  r = subprocess.run([str(links / 'netlab'), 'version'], env=sim.env, capture_output=True,
                     text=True, stdin=subprocess.DEVNULL)
  assert r.returncode == 0 and r.stdout.startswith('netlab version ')
  # a copy in a bin/ whose ../share/netlab-sim holds the package (the install layout)
  prefix = tmp_path / 'prefix'
  (prefix / 'bin').mkdir(parents=True)
  (prefix / 'share').mkdir()
  (prefix / 'share' / 'netlab-sim').symlink_to(BIN_DIR.parent / 'share' / 'netlab-sim')
  shutil.copy2(SIM, prefix / 'bin' / 'netlab')
  r = subprocess.run([str(prefix / 'bin' / 'netlab'), 'version'], env=sim.env,
                     capture_output=True, text=True, stdin=subprocess.DEVNULL)
  assert r.returncode == 0 and r.stdout.startswith('netlab version ')
  # a copy with no package anywhere near it says so and exits 125 (never a netlab exit code)
  lone = tmp_path / 'lone'
  lone.mkdir()
  shutil.copy2(SIM, lone / 'netlab')
  r = subprocess.run([str(lone / 'netlab'), 'version'], env=sim.env, capture_output=True,
                     text=True, stdin=subprocess.DEVNULL)
  assert r.returncode == 125 and r.stdout == ''
  assert 'netlab-sim: cannot find the netlab_sim package' in r.stderr
