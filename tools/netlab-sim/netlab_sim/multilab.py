# The multilab plugin (netsim/extra/multilab/__init__.py, defaults in netsim/defaults/multilab.yml):
# validates defaults.multilab.id (an integer 1..200) and .change, evaluates every string in
# .change as an f-string with the topology plus `id` as variables (in place, so the snapshot
# keeps the evaluated values), and merges the result into the topology: name ml-<id>, management
# subnet 192.168.<id>.0/24, management network/bridge nl_mgmt_<id>, libvirt tunnel id and vif prefix.
from .box import wrap
from .log import error
from .util import deep_copy, deep_merge, eval_format, get_dotted, set_dotted, type_name

ML_MIN_ID = 1
ML_MAX_ID = 200


def must_be_int(parent, key, path, module, min_value, max_value):
  """data.types.must_be_int: a string that int() accepts is converted (without a range check,
  as in netlab); bools, other types and out-of-range values are reported."""
  value = parent[key]
  if isinstance(value, str):
    try:
      parent[key] = int(value)
      return True
    except ValueError:
      pass
  where = f"attribute '{path}.{key}'"
  if not isinstance(value, int):
    error(f'{where} must be an integer, found {type_name(value)}', 'IncorrectType', module)
    return False
  if isinstance(value, bool):
    error(f'{where} must be a true number (not a bool)', 'IncorrectValue', module)
    return False
  if value < min_value or value > max_value:
    error(f'{where} must be an integer between {min_value} and {max_value}', 'IncorrectValue',
          module)
    return False
  return True


def eval_changed_parameters(change, ctx):
  """Depth-first: recurse into dictionaries, evaluate strings containing '{'."""
  for k in list(change.keys()):
    if isinstance(change[k], dict):
      eval_changed_parameters(change[k], ctx)
    elif isinstance(change[k], str) and '{' in change[k]:
      change[k] = eval_format(change[k], ctx)


def merge_changes(topo, change):
  """Dictionaries are merged into the topology, lists extended, anything else overwritten."""
  for k in list(change.keys()):
    value = change[k]
    current = get_dotted(topo, k)
    if isinstance(value, dict) and isinstance(current, dict):
      set_dotted(topo, k, deep_merge(current, deep_copy(value)))
    elif isinstance(value, list) and isinstance(current, list):
      current.extend(deep_copy(value))
    else:
      set_dotted(topo, k, deep_copy(value))


def init(topo):
  """The plugin's init hook. Errors are reported; the caller stops at the next exit_on_error."""
  mlab = get_dotted(topo, 'defaults.multilab')
  if not isinstance(mlab, dict):
    mlab = {}
  abort = False
  for kw in ('id', 'change'):
    if kw not in mlab:
      error(f'multilab plugin requires defaults.multilab.{kw} parameter', 'MissingValue',
            'multilab')
      abort = True
  if abort:
    return
  must_be_int(mlab, 'id', 'defaults.multilab', 'multilab', ML_MIN_ID, ML_MAX_ID)
  if not isinstance(mlab['change'], dict):
    error(f"attribute 'defaults.multilab.change' must be a dictionary, found "
          f"{type_name(mlab['change'])}", 'IncorrectType', 'multilab')
    return
  ctx = wrap(deep_copy(topo))
  ctx['id'] = mlab['id']
  eval_changed_parameters(mlab['change'], ctx)
  merge_changes(topo, mlab['change'])
