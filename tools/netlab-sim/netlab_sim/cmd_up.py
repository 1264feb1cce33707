# netlab up (cli/up.py): create (or load the snapshot), refuse a locked directory or an instance
# that runs elsewhere, register the lab, lock the directory, start every provider, configure.
import os

from .cli import argparse_mod, common_args, create_parser, up_extra_args
from .cmd_create import create_topology
from .devices import PROVIDERS
from .knobs import apply_topology_knobs
from .log import LOCK_FILE, State, fatal, section_header, warning
from .outputs import clab_yml, ghost_buster, secondary_providers, write_outputs
from .registry import (change_status, get_lab_id, lab_status_change, lab_status_update,
                       lock_directory, read_status)
from .runner import provider_action, provider_command, provider_nodes, run_command
from .snapshot import load_snapshot, topology_path
from .util import get_dotted, write_text


def check_existing_lab():
  if not os.path.exists(LOCK_FILE):
    return
  print('''
It looks like you have another lab running in this directory. If you want to
continue the lab startup process due to a previous failure, please use the
'netlab up --snapshot' command.

Otherwise use 'netlab status' to check the status of labs running on this
machine, or 'netlab down' to shut down the other lab running in this directory.

If you are sure that no other lab is running in this directory, remove the
netlab.lock file manually and retry.
''', flush=True)
  fatal('Cannot start another lab in the same directory')


def check_lab_instance(topo):
  """Refuses an instance id the registry has in another directory (read without the lock)."""
  lab_id = get_lab_id(topo)
  states = read_status()
  if lab_id not in states:
    return
  other = states[lab_id].get('dir') if isinstance(states[lab_id], dict) else None
  if other == os.getcwd():
    return
  print(f'''
It looks like the lab instance '{lab_id}' is already running in directory
{other}.

Please use 'netlab status --all' to check the status of labs running on this
machine. You can stop the other lab instance with:

netlab status -i {lab_id} --cleanup

If you think your netlab status file is corrupt, use 'netlab status --reset' to
delete it.
''', flush=True)
  fatal('aborting "netlab up" request')


def provider_probes(topo):
  section_header('Checking', 'virtualization provider installation')
  for provider in [topo['provider']] + secondary_providers(topo):
    for probe in PROVIDERS[provider]['probe']:
      run_command(probe, ignore_errors=True)
    if not State.dry_run and not State.quiet:
      print(f'OK: {provider} installed and working correctly', flush=True)


def validate_images(topo):
  """The validate_node_image hooks: one `docker image ls` per container image, one
  `vagrant box list` for all VMs."""
  seen = []
  for n in ghost_buster(topo)['nodes'].values():
    provider = n.get('provider') or topo['provider']
    cmd = f'docker image ls --format json {n["box"]}' if provider == 'clab' else 'vagrant box list'
    if cmd not in seen:
      seen.append(cmd)
      run_command(cmd, ignore_errors=True)


def status_start_lab(topo):
  """Registers the lab under the lock; an id that appeared in another directory since
  check_lab_instance is a race condition (the other entry gets a 'conflict' status)."""
  conflict = []

  def start(status):
    lab_id = get_lab_id(topo)
    if lab_id in status and isinstance(status[lab_id], dict) \
       and status[lab_id].get('dir') != os.getcwd():
      lab_status_update(status, topo,
                        update={'status': f'conflict -- trying to start lab in {os.getcwd()}'})
      conflict.append(status[lab_id].get('dir'))
      return
    lab_status_update(status, topo, update={
      'status': 'starting lab' if lab_id not in status else 'restarting lab',
      'name': topo['name'], 'providers': []})

  change_status(start)
  if conflict:
    fatal(f'race condition, lab instance already running in {conflict[0]}')


def start_provider_lab(topo, provider, secondary=None):
  name = secondary or provider
  change_status(lambda s: lab_status_update(
    s, topo, update={'status': f'starting provider {name}'},
    cb=lambda e: e['providers'].append(name)))
  cmd, config = provider_command(topo, provider, secondary, 'start')
  print(f'provider {name}: executing {cmd}', flush=True)
  if not run_command(cmd, provider_action(topo, name, start=True, config=config)):
    fatal(f'{cmd} failed, aborting...', 'netlab up')
  lab_status_change(topo, f'{name} workload started')


def recreate_secondary_config(topo, provider, secondary):
  sdata = get_dotted(topo, f'defaults.providers.{provider}.{secondary}') or {}
  if not sdata.get('recreate_config'):
    return
  filename = sdata.get('filename')
  print(f'Recreating {filename} configuration file for {secondary} provider', flush=True)
  write_text(filename, clab_yml(topo, provider_nodes(topo, secondary)))


def simulate_ansible(topo, playbook):
  if State.quiet:
    return
  print(f'\nPLAY [{playbook}] ' + '*' * max(3, 60 - len(playbook)), flush=True)
  for task in ('Set variables that cannot be set with VARS', 'Deploy initial configuration'):
    print(f'\nTASK [{task}] ' + '*' * max(3, 60 - len(task)))
    for n in topo['nodes']:
      print(f'ok: [{n}]' if 'Set' in task else f'changed: [{n}]')
  print('\nPLAY RECAP ' + '*' * 60)
  for n in topo['nodes']:
    print(f'{n:<26}: ok=2    changed=1    unreachable=0    failed=0    skipped=0', flush=True)


def deploy_initial_config(args, topo):
  if args.no_config:
    print()
    print("Initial configuration skipped, run 'netlab initial' to configure the devices",
          flush=True)
    return
  lab_status_change(topo, 'deploying initial configuration')
  section_header('Deploying', 'initial device configurations')
  cmd = 'netlab initial --no-message'
  if not args.snapshot:
    cmd += ' --deploy'
  if args.verbose:
    cmd += ' -' + 'v' * args.verbose
  if os.environ.get('NETLAB_FAST_CONFIG') or args.fast_config:
    cmd += ' --fast'
  if not run_command(cmd, lambda: simulate_ansible(topo, 'Deploy initial device configuration')
                     or True, ignore_errors=not args.verbose):
    fatal('netlab initial failed, aborting...', 'netlab up')
  print('OK: Lab devices configured', flush=True)
  lab_status_change(topo, 'initial configuration complete')
  message = topo.get('message')
  if isinstance(message, dict):
    message = message.get('initial')
  if message and not State.dry_run:
    print(f'\n\n{message}', flush=True)


def reload_saved_config(args, topo):
  lab_status_change(topo, 'reloading saved initial configurations')
  section_header('Reloading', 'saved initial device configurations')
  if not os.path.isdir(args.reload):
    fatal('netlab config --reload failed, aborting...', 'netlab up')
  run_command(f'netlab config --reload {args.reload}',
              lambda: simulate_ansible(topo, 'Reload saved configurations') or True)
  lab_status_change(topo, 'saved initial configurations reloaded')
  print('OK: Saved configurations reloaded', flush=True)


def start_external_tools(args, topo):
  tools = topo.get('tools')
  if not tools:
    return
  if args.no_tools:
    print()
    print('External tools not started, start them manually', flush=True)
    return
  lab_status_change(topo, 'starting external tools')
  section_header('Starting', 'external tools')
  for tool in tools:
    run_command(f'bash -c docker run --rm -d --name {topo["name"]}_{tool} 2>&1')
    print(f'OK: {tool} tool started', flush=True)
  lab_status_change(topo, f'{len(tools)}/{len(tools)} external tools started')
  print(f'OK: {len(tools)}/{len(tools)} external tools started', flush=True)


def get_topology(argv, snapshot):
  """The snapshot (up --snapshot) or the freshly created topology, without unmanaged nodes."""
  argparse = argparse_mod()
  if snapshot:
    parser = argparse.ArgumentParser(prog='netlab', description='netlab up extra arguments')
    common_args(parser, debugging=False)
    up_extra_args(parser)
    args = parser.parse_args(argv)
    State.quiet = args.quiet
    topo = ghost_buster(load_snapshot(args.snapshot, args.quiet))
    apply_topology_knobs(topology_path(topo), topo.get('name'))
    print(f'Using transformed lab topology from snapshot file {args.snapshot}', flush=True)
  else:
    parser = create_parser('up', 'Create configuration files, start a virtual lab, and configure it',
                           up_extra_args)
    args = parser.parse_args(argv)
    State.quiet = args.quiet
    section_header('Creating', 'configuration files')
    topo = create_topology(args)
    write_outputs(topo)
    topo = ghost_buster(topo)
  return args, topo


def cmd_up(argv):
  pre = argparse_mod().ArgumentParser(add_help=False)
  up_extra_args(pre)
  args, _ = pre.parse_known_args(argv)
  if args.reload and args.no_config:
    fatal('Cannot combine --reload-config and --no-config')
  State.dry_run = args.dry_run
  if not args.snapshot and not args.dry_run:
    check_existing_lab()

  args, topo = get_topology(argv, args.snapshot)
  State.topo = topo
  if not State.dry_run:
    check_lab_instance(topo)
  State.log_commands = True
  provider_probes(topo)
  validate_images(topo)
  status_start_lab(topo)
  if not State.dry_run:
    lock_directory()

  provider = topo['provider']
  section_header('Starting', f'{provider} nodes')
  start_provider_lab(topo, provider)
  for secondary in secondary_providers(topo):
    section_header('Starting', f'{secondary} nodes')
    recreate_secondary_config(topo, provider, secondary)
    start_provider_lab(topo, provider, secondary)
  if args.reload:
    reload_saved_config(args, topo)
  else:
    deploy_initial_config(args, topo)
  start_external_tools(args, topo)
  lab_status_change(topo, 'started')
  if os.path.exists(LOCK_FILE):
    lock_directory()
  if args.validate:
    if args.no_config:
      warning('Lab is not configured, skipping the validation phase', '-')
    else:
      run_command('netlab validate')
  return 0
