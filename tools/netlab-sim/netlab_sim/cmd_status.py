# netlab status (cli/status.py): the registry (--all), one instance (-i or the one registered for
# the current directory) with its node status, its log, --cleanup and --reset. Unlike down and
# inspect, status -i does not change the directory and prints no "Selected instance" line.
import datetime
import json
import os
import sys
import time

from .cli import argparse_mod
from .cmd_down import confirm
from .log import SNAPSHOT, State, eprint, error, fatal
from .outputs import ghost_buster
from .outputs_common import adjust_inventory_host
from .registry import read_status, status_filename
from .snapshot import load_pickled
from .util import to_yaml


class StatusError(Exception):
  """log.ErrorAbort raised by status.raise_error in JSON/YAML mode."""


def docker_duration(seconds):
  """go-units HumanDuration, as shown by `docker ps` in the Status column."""
  if seconds < 1:
    return 'Less than a second'
  if int(seconds) == 1:
    return '1 second'
  if seconds < 60:
    return f'{int(seconds)} seconds'
  minutes = int(seconds // 60)
  if minutes == 1:
    return 'About a minute'
  if minutes < 60:
    return f'{minutes} minutes'
  hours = int(round(seconds / 3600))
  if hours == 1:
    return 'About an hour'
  if hours < 48:
    return f'{hours} hours'
  if hours < 24 * 7 * 2:
    return f'{hours // 24} days'
  if hours < 24 * 30 * 2:
    return f'{hours // 24 // 7} weeks'
  if hours < 24 * 365 * 2:
    return f'{hours // 24 // 30} months'
  return f'{int(seconds / 3600 / 24 / 365)} years'


def workload_started_at(entry, provider):
  for line in reversed(entry.get('log') or []):
    if isinstance(line, str) and line.endswith(f': {provider} workload started'):
      try:
        return datetime.datetime.fromisoformat(line.rsplit(': ', 1)[0]).timestamp()
      except ValueError:
        break
  return None


def provider_node_name(topo, provider, name):
  """The provider's get_node_name: container name for clab, <lab>_<node> for libvirt."""
  node = topo['nodes'][name]
  if provider == 'clab':
    return node.get('hostname', name)
  if provider == 'libvirt':
    return f'{topo["name"].split(".")[0]}_{name}'
  return name


def fetch_node_status(entry, topo):
  """Per node: device, mgmt, connection (from the Ansible view), image, provider, workload name
  and status (clab: `Up <docker duration>` since the provider started; libvirt: running)."""
  age = {}
  for provider in entry.get('providers') or []:
    started = workload_started_at(entry, provider)
    age[provider] = docker_duration(max(0.0, time.time() - started)) if started \
      else 'Less than a second'
  defaults = topo['defaults']
  nodes = {}
  for name, n in topo['nodes'].items():
    ext = adjust_inventory_host(node=n, defaults=defaults, group_vars=True)
    provider = n.get('provider', defaults.get('provider'))
    stat_entry = {'device': n['device'], 'mgmt': n['mgmt'].get('ipv4'),
                  'connection': ext.get('ansible_connection')}
    if n.get('unmanaged'):
      stat_entry.update({'image': 'unmanaged', 'provider': 'unmanaged', 'status': 'Unknown'})
    else:
      stat_entry['image'] = n['box']
      stat_entry['provider'] = provider
      stat_entry['provider_name'] = provider_node_name(topo, provider, name)
      stat_entry['status'] = f'Up {age.get(provider, "Less than a second")}' \
        if provider == 'clab' else 'running'
    nodes[name] = stat_entry
  for tool in topo.get('tools') or {}:
    nodes[tool] = {'device': '(tool)', 'image': '', 'connection': 'docker', 'provider': 'clab',
                   'provider_name': f'{topo["name"]}_{tool}',
                   'status': f'Up {age.get(topo["provider"], "Less than a second")}'}
  entry['nodes'] = nodes


def cleanup_state(entry, iid=None):
  entry = dict(entry)
  if iid is not None:
    entry['instance'] = iid
  if 'timestamp' in entry:
    entry['timestamp'] = str(entry['timestamp'])
  return entry


def status_json(data, fmt):
  if fmt == 'json':
    print(json.dumps(data, skipkeys=True, indent=2, default=str), flush=True)
  else:
    print(to_yaml(data), flush=True)


def cmd_status(argv):
  argparse = argparse_mod()
  parser = argparse.ArgumentParser(prog='netlab status', description='Display lab status')
  parser.add_argument('-l', '--log', dest='log', action='store_true',
                      help='Display the lab instance event log')
  parser.add_argument('--cleanup', dest='cleanup', action='store_true',
                      help='Cleanup the current or specified lab instance')
  parser.add_argument('--reset', dest='reset', action='store_true',
                      help='Reset the lab instance tracking system')
  parser.add_argument('--format', dest='format', action='store', choices=['json', 'yaml', 'text'],
                      default='text', help='Specify the output format')
  parser.add_argument('--all', dest='all', action='store_true',
                      help='Display an overview of all lab instance(s)')
  parser.add_argument('-v', '--verbose', dest='verbose', action='count', default=0,
                      help='Verbose logging (add multiple flags for increased verbosity)')
  parser.add_argument('-q', '--quiet', dest='quiet', action='store_true',
                      help='Report only major errors')
  parser.add_argument('-i', '--instance', dest='instance', action='store',
                      help='Specify the lab instance to inspect')
  args = parser.parse_args(argv)
  State.quiet = args.quiet
  chosen = [f'--{kw}' for kw in ('all', 'reset', 'cleanup') if getattr(args, kw)]
  if len(chosen) > 1:
    fatal(f'You can use only one of the {", ".join(chosen)} options')
  no_json = [f'--{kw}' for kw in ('reset', 'cleanup') if getattr(args, kw)]
  if no_json and args.format != 'text':
    fatal(f'Cannot use {no_json[0]} option with JSON or YAML output format')
  text = args.format == 'text'

  def raise_error(msg, hints=None, category='FatalError'):
    if not text:
      raise StatusError(msg)
    error(msg, category, '', hints=hints, header=False)
    if category == 'FatalError':
      raise SystemExit(1)

  def get_instance(states):
    if args.instance:
      iid = int(args.instance) if args.instance.isdigit() else args.instance
      if iid not in states:
        raise_error(f'Unknown lab instance {args.instance}',
                    "Use 'netlab status --all' to display the list of lab instances")
      return iid
    cwd = os.getcwd()
    for iid, st in states.items():
      if isinstance(st, dict) and st.get('dir') == cwd:
        return iid
    raise_error("There's no running lab in the current directory.",
                "Use 'netlab status --all' to display the list of lab instances")

  try:
    if args.reset:
      path = status_filename()
      print(f'''
This action deletes the lab status file {path}.

That makes it impossible for netlab to track active lab instances. Use this
command only when you're absolutely sure that the lab status shown by
'netlab status' is corrupted
''', flush=True)
      if confirm('Do you want to continue?'):
        try:
          os.remove(path)
          print('Lab status file removed')
        except Exception as ex:
          fatal(f'Cannot remove lab status file: {ex}')
      return 0

    states = read_status()
    if not states:
      if text:
        print('No netlab-managed labs', flush=True)
      else:
        status_json({'warning': 'No netlab-managed labs'}, args.format)
      return 1

    if args.all:
      if args.verbose:
        print(f'netlab status file: {status_filename()}\n')
      if not text:
        status_json({k: cleanup_state(v) for k, v in states.items()}, args.format)
        return 0
      print('Active lab instance(s)\n')
      rows = [('id', 'directory', 'status', 'providers')]
      for iid, st in states.items():
        rows.append((str(iid), str(st.get('dir')), str(st.get('status') or 'Unknown'),
                     ','.join(st.get('providers') or [])))
      widths = [max(len(r[i]) for r in rows) for i in range(4)]
      for row in rows:
        print('  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
      return 0

    if args.cleanup:
      iid = get_instance(states)
      target = states[iid].get('dir')
      if not confirm(f'Cleanup will remove lab instance "{iid}" in {target}. Are you sure?'):
        return 0
      print(f'Shutting down lab {iid} in {target}', flush=True)
      os.chdir(target)
      import subprocess
      rc = subprocess.run([sys.executable, os.path.realpath(sys.argv[0]), 'down', '--cleanup']).returncode
      if rc:
        error(f"Error shutting down lab {iid}: Command '['netlab', 'down', '--cleanup']' returned "
              f'non-zero exit status {rc}.', 'FatalError', '', header=False,
              hints=f'Change directory to {os.getcwd()} and execute "netlab down --cleanup --force"')
      return 0

    iid = get_instance(states)
    if args.log:
      entry = states[iid]
      if not text:
        status_json(cleanup_state(entry, iid), args.format)
        return 0
      print(f'Lab {iid} in {entry.get("dir")}')
      print('\n'.join(entry.get('log') or []) + '\n')
      return 0

    entry = cleanup_state(states[iid])
    snapshot = f'{entry.get("dir")}/{SNAPSHOT}'
    if not os.path.isfile(snapshot):
      eprint('Traceback (most recent call last):')
      eprint('  File "netsim/utils/read.py", line 454, in load_pickled_data')
      eprint("UnboundLocalError: cannot access local variable 'pfile' where it is not associated "
             "with a value")
      return 1
    topo = load_pickled(snapshot)
    lab_status = entry.get('status') or ''
    if lab_status != 'started':
      for line in entry.get('log') or []:
        if 'started' in line:
          entry['status'] = lab_status = line
          break
    if 'started' not in (lab_status or ''):
      raise_error('Lab is not started, cannot display node/tool status' +
                  ('. Displaying lab start/stop log' if text else ''), category='MissingValue')
      print()
      print(f'Lab {iid} in {entry.get("dir")}')
      print(f'  status: {entry.get("status")}\n')
      print('\n'.join(entry.get('log') or []) + '\n')
      return 0
    fetch_node_status(entry, ghost_buster(topo))
    if not text:
      status_json(entry, args.format)
      return 0
    print(f'Lab {iid} in {entry.get("dir")}')
    print(f'  status: {entry.get("status")}')
    print(f'  provider(s): {",".join(entry.get("providers") or [])}\n')
    heading = ('node', 'device', 'image', 'mgmt IPv4', 'connection', 'provider', 'VM/container',
               'status')
    rows = [heading] + [(n, d['device'], d['image'], str(d.get('mgmt', '')), str(d['connection']),
                         d.get('provider', ''), d.get('provider_name', ''), d['status'])
                        for n, d in entry['nodes'].items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(heading))]
    for row in rows:
      print('  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0
  except StatusError as ex:
    status_json({'error': str(ex)}, args.format)
    return 0
