# Data helpers: YAML, dictionaries with dotted keys (python-box's box_dots), names, files.
import datetime
import os
import re

from .log import fatal


def yaml_mod():
  import yaml
  return yaml


def yaml_loader():
  yaml = yaml_mod()
  return getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def yaml_dumper():
  yaml = yaml_mod()
  return getattr(yaml, 'CSafeDumper', yaml.SafeDumper)


def to_yaml(data):
  return yaml_mod().dump(data, Dumper=yaml_dumper(), default_flow_style=False,
                         allow_unicode=True, sort_keys=True)


def load_yaml_file(path):
  """Reads a YAML file, refusing duplicate keys like netlab's loader does."""
  yaml = yaml_mod()
  base = yaml_loader()

  class UniqueKeyLoader(base):
    def construct_mapping(self, node, deep=False):
      seen = set()
      for key_node, _ in node.value:
        key = self.construct_object(key_node, deep=deep)
        try:
          if key in seen:
            raise yaml.constructor.ConstructorError(
              None, None, f'found duplicate key {key}', key_node.start_mark)
          seen.add(key)
        except TypeError:
          pass
      return super().construct_mapping(node, deep=deep)

  with open(path, encoding='utf-8') as f:
    return yaml.load(f, Loader=UniqueKeyLoader)


def read_yaml_or_fatal(path):
  try:
    data = load_yaml_file(path)
  except Exception as ex:
    fatal(f'Cannot read YAML from {path}: {ex}')
  return data


def deep_merge(base, over):
  """Returns base updated with over (python-box's Box + Box): nested dictionaries are merged,
  over wins."""
  out = dict(base)
  for k, v in over.items():
    if isinstance(v, dict) and isinstance(out.get(k), dict):
      out[k] = deep_merge(out[k], v)
    else:
      out[k] = v
  return out


def deep_copy(data):
  """Copies nested dictionaries and lists (the topology is plain data)."""
  if isinstance(data, dict):
    return {k: deep_copy(v) for k, v in data.items()}
  if isinstance(data, list):
    return [deep_copy(v) for v in data]
  return data


def set_dotted(data, key, value, merge=False):
  """data['a.b.c'] = value the way a Box with box_dots=True does it."""
  parts = key.split('.')
  cur = data
  for part in parts[:-1]:
    nxt = cur.get(part)
    if nxt is None:
      nxt = cur[part] = {}
    elif not isinstance(nxt, dict):
      raise TypeError(f"'{type(nxt).__name__}' object does not support item assignment")
    cur = nxt
  last = parts[-1]
  if merge and isinstance(value, dict) and isinstance(cur.get(last), dict):
    cur[last] = deep_merge(cur[last], value)
  else:
    cur[last] = value


def get_dotted(data, key, default=None):
  cur = data
  for part in key.split('.'):
    if not isinstance(cur, dict) or part not in cur:
      return default
    cur = cur[part]
  return cur


def expand_dots(obj):
  """netlab expands dotted keys ('defaults.device: frr') into nested dictionaries everywhere."""
  if isinstance(obj, list):
    return [expand_dots(v) for v in obj]
  if not isinstance(obj, dict):
    return obj
  out = {}
  for k, v in obj.items():
    v = expand_dots(v)
    if isinstance(k, str) and '.' in k and not k.startswith('.') and not k.endswith('.'):
      try:
        set_dotted(out, k, v, merge=True)
      except TypeError:
        out[k] = v
    elif isinstance(v, dict) and isinstance(out.get(k), dict):
      out[k] = deep_merge(out[k], v)
    else:
      out[k] = v
  return out


def type_name(value):
  """data.types.wrong_type_text: 'dictionary' for dicts, else the Python type name."""
  return 'dictionary' if isinstance(value, dict) else type(value).__name__


def is_id(value, max_length=16):
  return isinstance(value, str) and re.fullmatch(f'[a-zA-Z_][a-zA-Z0-9_-]{{0,{max_length - 1}}}',
                                                 value) is not None


def make_id(txt):
  """strings.make_id: keep [A-Za-z0-9_], strip leading digits and (conditionally) underscores."""
  ident = re.sub('[^a-zA-Z0-9_]', '_', txt)
  ident = re.sub('^[0-9]*', '', ident)
  if ident.startswith('_') and not txt.startswith('_'):
    ident = re.sub('^_*', '', ident) or ident
  return ident


def name_from_path(topology_path):
  """augment.topology.name_from_path (the caller truncates to 12 characters)."""
  dirname = os.path.basename(os.path.dirname(os.path.realpath(topology_path)))
  name = make_id(dirname).replace('_', '')
  return name or 'default'


def eval_format(fmt, data):
  """utils.strings.eval_format: evaluates a string as a Python f-string with data (a Box in
  netlab, so nested values allow attribute access) as globals."""
  from .box import wrap
  fmt = fmt.replace("'", "\\'")
  return str(eval("f'" + fmt + "'", {k: wrap(v) for k, v in dict.items(data)}))


def write_text(path, text, mode=None):
  parent = os.path.dirname(path)
  if parent:
    os.makedirs(parent, exist_ok=True)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)
  if mode is not None:
    os.chmod(path, mode)


def now_utc():
  return datetime.datetime.now(datetime.timezone.utc)


def clock():
  return datetime.datetime.now().strftime('%H:%M:%S')


def ip_mod():
  import ipaddress
  return ipaddress
