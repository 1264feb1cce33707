# netlab.snapshot.pickle and the lab location options (cli/__init__.py: change_lab_instance,
# load_snapshot, check_modified_source; utils/read.py: load_pickled_data).
import os

from .log import NETLAB_VERSION, SNAPSHOT, State, eprint, error_and_exit, extra_data_printout, fatal, info, warning
from .registry import read_status
from .util import load_yaml_file


def _restricted_load(f):
  """Unpickles plain data only (no classes), so a foreign pickle cannot run code."""
  import pickle

  class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
      raise pickle.UnpicklingError(f"global '{module}.{name}' is forbidden")

  return Restricted(f).load()


def load_pickled(snapshot):
  try:
    pfile = open(snapshot, 'rb')
  except OSError as ex:
    fatal(f'Cannot open pickle file {snapshot}: {ex}')
  try:
    with pfile:
      data = _restricted_load(pfile)
  except Exception as ex:
    fatal(f'Cannot read pickled data from {pfile}: {ex}')
  if not isinstance(data, dict):
    fatal(f'The picked snapshot {snapshot} contains {type(data)}, not a dictionary')
  return data


def write_snapshot(topo, fname=SNAPSHOT):
  import pickle
  data = dict(topo)
  data['_netlab_version'] = NETLAB_VERSION
  with open(fname, 'wb') as f:
    pickle.dump(data, f, protocol=4)
  print(f'Created pickled transformed topology data into {fname}', flush=True)


def check_modified_source(snapshot, topo):
  try:
    snap_time = os.path.getmtime(snapshot)
  except OSError:
    return
  for infile in topo.get('input', []):
    if not isinstance(infile, str) or not os.path.exists(infile):
      continue
    if os.path.getmtime(infile) <= snap_time:
      continue
    warning(f'Lab topology source file {infile} has been modified', 'cli',
            more_data=[f'after the snapshot {snapshot} has been created'],
            hints=['Set defaults.warnings.snapshot.modified to False to hide this warning'])
    if not State.quiet:
      eprint(extra_data_printout(
        'netlab transforms lab topology into device- and platform data and stores the results '
        'in a snapshot file that is used by most netlab commands. Changes to source files '
        '(including lab topology or defaults) are not automatically reflected in the snapshot '
        "file. Use 'netlab create' or 'netlab up' to create a new snapshot file."))
    return


def change_lab_instance(instance, quiet):
  """-i/--instance of down and inspect: look the id up in the registry (as an integer when it is
  one), chdir to its directory, say so unless -q."""
  states = read_status()
  try:
    iid = int(instance)
  except ValueError:
    iid = instance
  if iid not in states:
    error_and_exit(f'Unknown instance {iid}',
                   hints=["Use 'netlab status --all' to display running instances"])
  target = states[iid].get('dir') if isinstance(states[iid], dict) else None
  try:
    os.chdir(target)
  except Exception as ex:
    fatal(f'Cannot change directory to {target}: {ex}')
  if not quiet:
    print(f'[CHANGED] Selected instance {iid}, current directory changed to {target}', flush=True)


def load_snapshot(snapshot_arg, quiet, instance=None):
  """cli.load_snapshot."""
  if instance:
    change_lab_instance(instance, quiet)
  snapshot = SNAPSHOT
  if snapshot_arg and snapshot_arg != snapshot:
    snapshot = snapshot_arg
    if not quiet:
      info(f'Using lab snapshot file {snapshot_arg}')
  if not os.path.isfile(snapshot):
    error_and_exit(f'The topology snapshot file {snapshot} does not exist',
                   hints=['Looks like no lab was started from this directory',
                          "Use 'netlab status --all' to display labs running on this system"])
  if '.pickle' in snapshot:
    topo = load_pickled(snapshot)
  else:
    try:
      topo = load_yaml_file(snapshot)
    except Exception as ex:
      fatal(f'Cannot read YAML from {snapshot}: {ex}')
    if not isinstance(topo, dict):
      fatal(f'Cannot read the topology snapshot file {snapshot_arg}')
  if '_netlab_version' not in topo:
    fatal(f'{snapshot_arg} is either not a netlab snapshot file or was created with an older '
          f'netlab version')
  check_modified_source(snapshot, topo)
  return topo


def topology_path(topo):
  """The topology file a transformed topology came from (for per-topology knobs)."""
  inputs = topo.get('input') if isinstance(topo, dict) else None
  if isinstance(inputs, list) and inputs and isinstance(inputs[0], str):
    return inputs[0]
  return None
