# netlab inspect (cli/inspect.py, outputs/yaml.py): the data source (-i, snapshot, topology),
# the expression evaluated with Python's eval against the topology, --node through
# outputs.common.adjust_inventory_host.
import fnmatch
import json
import os
import sys
import types

from . import augment_devices, outputs_common
from .box import Box, BoxList, unwrap, wrap
from .cli import argparse_mod
from .devices import devices
from .knobs import apply_topology_knobs, knob_delay, knob_fails, knob_hang
from .log import NETLAB_VERSION, SNAPSHOT, State, error, error_and_exit, exit_on_error, fatal, info
from .outputs import ghost_buster
from .snapshot import load_snapshot, topology_path
from .transform import transform
from .util import read_yaml_or_fatal, to_yaml


def register_netsim_modules():
  """Real netlab evaluates inspect expressions in a process that has the netsim package, so an
  expression can import it. The simulator offers the two modules whose functions it implements:
  netsim.outputs.common (adjust_inventory_host & co) and netsim.augment.devices."""
  if sys.modules.get('netsim.outputs.common') is outputs_common:
    return
  netsim = types.ModuleType('netsim', 'netlab-sim stand-in for the netsim package')
  netsim.__path__ = []
  outputs = types.ModuleType('netsim.outputs')
  outputs.__path__ = []
  augment = types.ModuleType('netsim.augment')
  augment.__path__ = []
  netsim.outputs, netsim.augment = outputs, augment
  outputs.common = outputs_common
  augment.devices = augment_devices
  sys.modules.update({'netsim': netsim, 'netsim.outputs': outputs, 'netsim.augment': augment,
                      'netsim.outputs.common': outputs_common,
                      'netsim.augment.devices': augment_devices})


def render_value(data, expr, fmt):
  """outputs.yaml.YAML.write to stdout: evaluate expr (full Python eval, the topology's top-level
  keys plus _netlab_version as globals), print a Box or BoxList as JSON (indent 2, sorted keys)
  or YAML, anything else with str() and an empty line."""
  clean = {k: v for k, v in dict.items(data)}
  addressing = clean.get('addressing')
  if isinstance(addressing, dict):                  # topology.cleanup_topology
    clean['addressing'] = {k: ({p: x for p, x in v.items() if '_pfx' not in p and '_eui' not in p}
                               if isinstance(v, dict) else v) for k, v in addressing.items()}
  clean['_netlab_version'] = NETLAB_VERSION
  result = Box(clean)
  if expr and expr != '.':
    register_netsim_modules()
    try:
      result = eval(expr, {k: wrap(v) for k, v in clean.items()})
    except Exception as ex:
      fatal(f'Error trying to evaluate {expr}: {ex}')
  if not isinstance(result, (Box, BoxList)):
    return f'{result}\n'
  if fmt == 'json':
    return json.dumps(unwrap(result), indent=2, sort_keys=True, ensure_ascii=False)
  return to_yaml(unwrap(result)).rstrip('\n')


def load_data_source(args):
  """cli.load_data_source: -i or an existing snapshot, else the topology (transformed on the fly,
  nothing written)."""
  if not args.topology:
    if args.instance or os.path.isfile(args.snapshot):
      return load_snapshot(args.snapshot, args.quiet, args.instance)
    args.topology = 'topology.yml'
  elif args.instance:
    error_and_exit('Cannot specify --topology together with --instance or --snapshot')
  if os.path.isfile(args.topology):
    info(f'Using lab topology file {args.topology}')
    raw = read_yaml_or_fatal(os.path.abspath(args.topology))
    return ghost_buster(transform(raw, args.topology))
  error_and_exit(f'Could not get the data from {args.snapshot} or lab topology {args.topology}',
                 hints='Start the lab or specify an alternate topology file with the --topology '
                       'flag')


def parse_nodeset(spec, topo):
  names = list(topo['nodes'])
  groups = topo.get('groups') if isinstance(topo.get('groups'), dict) else {}
  result = []
  for element in spec.split(','):
    if element in result:
      continue
    if any(c in element for c in '*?['):
      matched = [n for n in names if fnmatch.fnmatch(n, element)]
      if not matched:
        error(f'Wildcard node specification {element} does not match any nodes', module='-',
              header=False)
      result += [n for n in matched if n not in result]
    elif element in groups:
      members = groups[element].get('members', []) if isinstance(groups[element], dict) else []
      result += [n for n in members if n in names and n not in result]
    elif element in names:
      result.append(element)
    elif element.lower() == 'all':
      result += [n for n in names if n not in result]
    elif element in devices():
      matched = [n for n, d in topo['nodes'].items() if d.get('device') == element]
      if not matched:
        error(f'The current lab topology has no {element} devices', module='-', header=False)
      result += [n for n in matched if n not in result]
    else:
      error(f'{element} is not a glob or a valid node, group, or device name', module='-',
            header=False)
  exit_on_error()
  return result


def node_data(topo, node, global_vars):
  """inspect_node: adjust_inventory_host(group_vars=True), optionally after the 'all' vars."""
  data = outputs_common.adjust_inventory_host(node=wrap(topo)['nodes'][node],
                                              defaults=wrap(topo)['defaults'], group_vars=True)
  return Box(global_vars) + data if global_vars else data


def cmd_inspect(argv):
  argparse = argparse_mod()
  parser = argparse.ArgumentParser(prog='netlab inspect',
                                   description='Inspect data structures in a lab topology')
  parser.add_argument('--node', dest='node', action='store', help='Display data for selected node(s)')
  parser.add_argument('--all', dest='all', action='store_true',
                      help='Add global Ansible variables to node data')
  parser.add_argument('--format', dest='format', action='store', default='yaml',
                      choices=['yaml', 'json'], help='Select data presentation format')
  parser.add_argument(dest='expr', action='store', nargs='?', help='Data selection expression')
  parser.add_argument('-q', '--quiet', dest='quiet', action='store_true',
                      help='Report only major errors')
  parser.add_argument('-i', '--instance', dest='instance', action='store',
                      help='Specify the lab instance to inspect')
  parser.add_argument('--snapshot', dest='snapshot', action='store', nargs='?', default=SNAPSHOT,
                      const=SNAPSHOT, help='Transformed topology snapshot file')
  parser.add_argument('-t', '--topology', dest='topology', action='store',
                      help='Topology file or URL')
  args = parser.parse_args(argv)
  State.quiet = args.quiet

  topo = load_data_source(args)
  State.error_count = 0
  apply_topology_knobs(topology_path(topo), topo.get('name'))
  knob_delay('inspect')
  knob_hang('inspect')
  if knob_fails('inspect'):
    fatal(f"Cannot read pickled data from <_io.BufferedReader name='{args.snapshot}'>: "
          f"pickle data was truncated")

  if not args.node:
    print(render_value(topo, args.expr, args.format), flush=True)
    return 0
  node_list = parse_nodeset(args.node, topo)
  from .ansible import get_all_vars
  global_vars = get_all_vars(topo) if args.all else {}
  rows = []
  for node in node_list:
    data = node_data(topo, node, global_vars)
    if len(node_list) == 1:
      print(render_value(data, args.expr, args.format), flush=True)
      return 0
    value = data.get(args.expr) if args.expr else data
    if isinstance(value, (Box, BoxList)):
      value = json.dumps(unwrap(value)) if args.format == 'json' \
        else to_yaml(unwrap(value)).rstrip('\n')
    rows.append((node, str(value)))
  # several nodes: netlab prints a Rich table that is not meant to be parsed
  for node, value in rows:
    print(f'--- {node} ---\n{value}')
  return 0
