# netlab down (cli/down.py): load the snapshot (after -i: chdir to the instance directory), ask
# before touching a directory the registry does not know the instance in, stop tools, secondary
# and primary providers, optionally clean up, unregister, unlock.
import os
import shutil

from .cli import argparse_mod
from .cmd_up import provider_probes
from .devices import PROVIDERS, SYSTEM_DEFAULTS
from .knobs import apply_topology_knobs, knob_fails
from .log import SNAPSHOT, State, eprint, fatal, section_header
from .outputs import ghost_buster, secondary_providers
from .registry import (get_lab_id, lab_status_change, read_status, remove_lab_status,
                       unlock_directory)
from .runner import provider_action, provider_command, run_command
from .snapshot import load_snapshot, topology_path
from .util import get_dotted


def confirm(prompt):
  """strings.confirm: input() on stdin; EOF (stdin is /dev/null) raises EOFError -> traceback."""
  while True:
    answer = input(f'{prompt} [y/n]: ').lower()
    if answer in ('y', 'yes'):
      return True
    if answer in ('n', 'no'):
      return False


def fs_cleanup(files):
  for fname in files:
    if os.path.isdir(fname) and not os.path.islink(fname):
      if State.dry_run:
        print(f'DRY RUN: removing directory tree {fname}')
        continue
      print(f'... removing directory tree {fname}', flush=True)
      try:
        shutil.rmtree(fname)
      except Exception as ex:
        fatal(f'Cannot clean up directory {fname}: {ex}')
    elif os.path.lexists(fname):
      if State.dry_run:
        print(f'DRY RUN: removing {fname}')
        continue
      print(f'... removing {fname}', flush=True)
      try:
        os.remove(fname)
      except Exception as ex:
        fatal(f'Cannot remove {fname}: {ex}')


def lab_dir_mismatch(topo, force):
  """True when the registry has this instance in another directory (after a confirmation,
  skipped with --force --force); an unregistered instance is fine."""
  lab_id = get_lab_id(topo)
  states = read_status()
  if lab_id not in states or not isinstance(states[lab_id], dict) \
     or states[lab_id].get('dir') == os.getcwd():
    return False
  if force >= 2:
    return True
  print(f'''
According to the netlab status file, the lab instance '{lab_id}' is running
in directory {states[lab_id].get('dir')}.

You could proceed if you want to clean up the netlab artifacts from this
directory, but you might impact the running lab instance.
''', flush=True)
  if not confirm('Do you want to proceed?'):
    fatal('aborting lab shutdown request')
  return True


def stop_provider(topo, provider, fail, secondary=None):
  """Returns False when the stop command failed (netlab: log.fatal, caught by stop_all)."""
  name = secondary or provider
  lab_status_change(topo, f'stopping {name} provider')
  section_header('Stopping', f'{name} nodes')
  cmd, config = provider_command(topo, provider, secondary, 'stop')
  if not run_command(cmd, provider_action(topo, name, start=False, fail=fail, config=config)):
    eprint(f'Fatal error in netlab down: {cmd} failed, aborting...')
    return False
  return True


def cleanup_list(topo):
  provider = topo['provider']
  files = list(get_dotted(topo, f'defaults.providers.{provider}.cleanup', None) or
               PROVIDERS[provider]['cleanup'])
  for secondary in secondary_providers(topo):
    files += get_dotted(topo, f'defaults.providers.{secondary}.cleanup', None) or []
    filename = get_dotted(topo, f'defaults.providers.{provider}.{secondary}.filename')
    if filename:
      files.append(filename)
  files += SYSTEM_DEFAULTS['automation']['ansible']['cleanup']
  files += SYSTEM_DEFAULTS['automation']['configs']['cleanup']
  return files + ['netlab.snapshot.yml', SNAPSHOT]


def cmd_down(argv):
  argparse = argparse_mod()
  parser = argparse.ArgumentParser(prog='netlab down', description='Destroy the virtual lab')
  parser.add_argument('-v', '--verbose', dest='verbose', action='count', default=0,
                      help='Verbose logging (where applicable)')
  parser.add_argument('--cleanup', dest='cleanup', action='store_true',
                      help='Remove all configuration files created by netlab create')
  parser.add_argument('--dry-run', dest='dry_run', action='store_true',
                      help='Print the commands that would be executed, but do not execute them')
  parser.add_argument('--force', dest='force', action='count', default=0,
                      help='Force shutdown or cleanup (use at your own risk)')
  parser.add_argument('-i', '--instance', dest='instance', action='store',
                      help='Specify the lab instance to shut down')
  parser.add_argument('--snapshot', dest='snapshot', action='store', nargs='?', default=SNAPSHOT,
                      const=SNAPSHOT, help='Transformed topology snapshot file')
  args = parser.parse_args(argv)
  State.dry_run = args.dry_run

  topo = ghost_buster(load_snapshot(args.snapshot, False, args.instance))
  State.topo = topo
  apply_topology_knobs(topology_path(topo), topo.get('name'))
  fail = knob_fails('down') or (knob_fails('down-default') and args.instance == 'default')
  mismatch = lab_dir_mismatch(topo, args.force)

  State.log_commands = True
  lab_status_change(topo, 'lab shutdown requested' + (' in conflicting directory' if mismatch else ''))
  provider_probes(topo)

  tools = topo.get('tools') or {}
  if tools:
    section_header('Stopping', 'external tools')
    lab_status_change(topo, 'stopping external tools')
    for tool in tools:
      run_command(f'bash -c docker kill {topo["name"]}_{tool} 2>&1')
      print(f'... {tool} tool stopped', flush=True)
    lab_status_change(topo, 'external tools stopped')

  provider = topo['provider']
  for secondary in secondary_providers(topo):
    if not stop_provider(topo, provider, fail, secondary) and not args.force:
      return 1
    print()
  if not stop_provider(topo, provider, fail) and not args.force:
    return 1

  if args.cleanup:
    if tools:
      section_header('Cleanup', 'tool configuration')
      for tool in tools:
        fs_cleanup([str(tool)])
        print(f'... cleaned up {tool} data', flush=True)
    section_header('Cleanup', 'configuration files')
    fs_cleanup(cleanup_list(topo))

  if not mismatch:
    remove_lab_status(topo)
  if not State.dry_run:
    unlock_directory()
  return 0
