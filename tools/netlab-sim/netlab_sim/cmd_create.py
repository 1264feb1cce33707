# netlab create, and the create phase of netlab up (cli/create.py).
import os

from .cli import create_parser
from .knobs import apply_topology_knobs, knob_fails
from .log import LOCK_FILE, SNAPSHOT, State, eprint, error, error_and_exit, exit_on_error, fatal
from .outputs import write_node_files, write_outputs, write_provider_file, write_tools
from .registry import lab_status_log
from .snapshot import write_snapshot
from .transform import transform
from .util import read_yaml_or_fatal, write_text


def create_topology(args):
  """create.run up to (and including) the transformation; returns the topology."""
  if '://' in args.topology:
    error_and_exit(f'Cannot download the lab topology from {args.topology}', module='http',
                   hints=['netlab-sim does not download topologies'])
  if not os.path.exists(args.topology):
    fatal(f'Topology file {args.topology} does not exist', module='create')
  if not os.path.isfile(args.topology):
    fatal(f'The specified lab topology ({args.topology}) is not a file', module='create')
  path = os.path.abspath(args.topology)
  raw = read_yaml_or_fatal(path)
  cli = {'device': args.device, 'provider': args.provider, 'plugin': args.plugin,
         'settings': args.settings}
  topo = transform(raw, args.topology, cli)
  State.topo = topo
  apply_topology_knobs(path, topo.get('name'))
  if knob_fails('create'):
    error('topology transformation failed (injected by FAKE_NETLAB_FAIL=create)',
          'IncorrectValue', 'create')
    exit_on_error()
  if getattr(args, 'unlock', False) and os.path.exists(LOCK_FILE):
    eprint("WARNING: removing netlab.lock file, you're on your own")
    os.remove(LOCK_FILE)
    lab_status_log(topo, 'Configuration files have been recreated')
  return topo


def cmd_create(argv):
  from .cmd_inspect import render_value
  parser = create_parser('create', 'Create provider- and automation configuration files')
  args = parser.parse_args(argv)
  State.quiet = args.quiet
  if args.output and args.devices:
    error_and_exit('--output and --devices flags are mutually exclusive')
  topo = create_topology(args)
  if not args.output:
    write_outputs(topo)
    return 0
  for output in args.output:
    name, _, fname = output.partition('=')
    fmt, _, expr = name.partition(':')
    if fmt == 'none':
      continue
    if fmt in ('json', 'yaml'):
      text = render_value(topo, expr or '.', fmt)
      if fname:
        write_text(fname, text + '\n')
        print(f'Created transformed topology dump in {fmt.upper()} format in {fname}', flush=True)
      else:
        print(text, flush=True)
    elif fmt in ('provider', 'clab', 'libvirt'):
      write_provider_file(topo)
    elif fmt == 'pickle':
      write_snapshot(topo, fname or SNAPSHOT)
    elif fmt == 'ansible':
      from .ansible import write_ansible
      write_ansible(topo)
    elif fmt == 'config':
      write_node_files(topo)
    elif fmt == 'tools':
      write_tools(topo)
    else:
      error(f'Unknown output format {output}', 'IncorrectValue', 'create')
  exit_on_error()
  return 0
