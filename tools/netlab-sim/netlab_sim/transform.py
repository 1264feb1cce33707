# The part of the topology transformation (netlab create) a server can observe: defaults and their
# sources, CLI settings, plugins (multilab), providers (including per-node providers), nodes,
# devices, images, node ids, management and loopback addresses, container names. Links are in
# links.py. The order of the checks follows augment/main.py transform_setup.
import json
import os

from . import multilab
from .devices import (KNOWN_PLUGINS, KNOWN_PROVIDERS, PROVIDERS, SYSTEM_DEFAULTS,
                      TOPOLOGY_ATTRIBUTES, dev_attr, devices)
from .links import transform_links
from .log import State, eprint, error, exit_on_error, fatal, warning
from .util import (deep_merge, eval_format, expand_dots, get_dotted, ip_mod, is_id,
                   name_from_path, read_yaml_or_fatal, set_dotted, type_name, yaml_loader,
                   yaml_mod)


def user_defaults_files(topo_path):
  topo_dir = os.path.dirname(os.path.abspath(topo_path))
  return [os.path.join(topo_dir, 'topology-defaults.yml'), os.path.expanduser('~/.netlab.yml'),
          os.path.expanduser('~/topology-defaults.yml'), '/etc/netlab/defaults.yml']


def env_defaults():
  """read.include_environment_defaults: NETLAB_A_B__C=value -> defaults.a.b_c = yaml(value)."""
  out = []
  for k, v in os.environ.items():
    if not k.lower().startswith('netlab_'):
      continue
    try:
      v = yaml_mod().load(v, Loader=yaml_loader())
    except Exception:
      pass
    key = k.lower().replace('netlab_', '', 1).replace('_', '.').replace('..', '_')
    out.append((key, v))
  return out


def transform_cli_value(v):
  try:
    return int(v)
  except ValueError:
    pass
  if v.lower() in ('true', 'false'):
    return v.lower() == 'true'
  return v


def create_node_dict(nodes):
  if isinstance(nodes, dict):
    items = list(nodes.items())
  else:
    items = []
    for n in nodes or []:
      if isinstance(n, dict):
        if 'name' not in n:
          error(f'Node is missing a "name" attribute: {n}', 'IncorrectValue', 'nodes')
          continue
        items.append((n['name'], n))
      elif isinstance(n, str):
        items.append((n, {'name': n}))
      else:
        error(f'Node is missing a "name" attribute: {n}', 'IncorrectValue', 'nodes')
  out = {}
  for name, data in items:
    if data is None:
      data = {}
    elif not isinstance(data, dict):
      error(f'Node data for node {name} must be a dictionary', 'IncorrectType', 'nodes')
      data = {'extra': data}
    data = dict(data)
    data['name'] = name
    out[name] = data
  return out


def load_defaults(topo, topo_path, abs_path):
  """system < user defaults files < topology defaults < NETLAB_* environment."""
  defaults = json.loads(json.dumps(SYSTEM_DEFAULTS))
  inputs = [abs_path]
  for path in reversed(user_defaults_files(topo_path)):
    if os.path.isfile(path):
      data = read_yaml_or_fatal(path)
      if isinstance(data, dict):
        defaults = deep_merge(defaults, expand_dots(data))
  for path in user_defaults_files(topo_path):
    if os.path.isfile(path):
      inputs.append(path)
  inputs.append('package:topology-defaults.yml')
  tdefaults = topo.get('defaults')
  if isinstance(tdefaults, dict):
    defaults = deep_merge(defaults, tdefaults)
  for key, value in env_defaults():
    try:
      set_dotted(defaults, key, value)
    except TypeError:
      pass
  topo['defaults'] = defaults
  topo['input'] = inputs
  return defaults


def apply_cli(topo, defaults, cli):
  """read.add_cli_args (-d, -p provider[:flags], --plugin, -s key=value)."""
  topo['nodes'] = create_node_dict(topo.get('nodes'))
  if cli.get('device'):
    defaults['device'] = cli['device']
  if cli.get('provider'):
    plist = cli['provider'].split(':')
    topo['provider'] = plist[0]
    for opt in plist[1:]:
      for element in opt.split(','):
        set_dotted(defaults, f'providers.{plist[0]}.{element}', True)
  if cli.get('plugin'):
    plugins = topo.get('plugin') or []
    topo['plugin'] = (plugins if isinstance(plugins, list) else [plugins]) + list(cli['plugin'])
  for setting in cli.get('settings') or []:
    if '=' not in setting:
      error(f'Invalid CLI setting {setting}, should be in format key=value', module='cli')
      exit_on_error()
    key, _, value = setting.partition('=')
    if '=' in value:
      fatal(f'Cannot set topology value {key}\n... too many values to unpack (expected 2)')
    try:
      set_dotted(topo, key, transform_cli_value(value))
    except TypeError as ex:
      fatal(f'Cannot set topology value {key}\n... {ex}')
  exit_on_error()


def load_plugins(topo, defaults):
  """augment.plugin.init: topology plugins plus defaults.plugin (a scalar becomes a list)."""
  dplugins = defaults.get('plugin')
  if dplugins is not None and not isinstance(dplugins, list):
    dplugins = defaults['plugin'] = [dplugins]
  if dplugins or 'plugin' in topo:
    plugins = topo.get('plugin')
    if plugins is None:
      plugins = []
    elif not isinstance(plugins, list):
      plugins = [plugins]
    topo['plugin'] = plugins + list(dplugins or [])
  ok = True
  for pname in topo.get('plugin') or []:
    if not isinstance(pname, str):
      error(f'Plugin name must be a string, found {pname}', 'IncorrectValue', 'plugin')
      ok = False
    elif pname not in KNOWN_PLUGINS:
      error(f'Cannot find plugin {pname}', 'IncorrectValue', 'plugin',
            more_data=['Search path:', '- .', '- "topology:"', '- ~/.netlab', '- /etc/netlab',
                       '- package:extra'])
      ok = False
  return ok and 'multilab' in (topo.get('plugin') or [])


def select_provider(topo, defaults, nodes):
  """adjust_global_parameters + providers.select_primary_provider + validate_node_provider."""
  provider = topo.get('provider') or defaults.get('provider') or 'libvirt'
  topo['provider'] = provider
  if provider not in KNOWN_PROVIDERS:
    eprint(f'Errors encountered while processing {State.topo_file}')
    fatal(f'Unknown virtualization provider {provider}. Supported providers are: '
          f'{", ".join(sorted(KNOWN_PROVIDERS))}', 'topology')
  used = {n.get('provider', provider) for n in nodes.values()}
  if len(used) == 1 and provider not in used:
    top = used.pop()
  else:
    mix = [p for p in get_dotted(defaults, 'const.multi_provider', []) if p in used]
    top = mix[0] if mix and mix[0] != provider else provider
    if top != provider:
      for n in nodes.values():
        n.setdefault('provider', provider)
  if top != provider:
    warning(f'Topology provider changed from {provider} to {top}. Nodes are not affected',
            'providers')
    provider = topo['provider'] = top
  defaults['provider'] = provider
  for name, n in nodes.items():
    if 'provider' not in n:
      continue
    if n['provider'] == provider:
      n.pop('provider')
    elif n['provider'] not in KNOWN_PROVIDERS:
      error(f'Invalid provider {n["provider"]} specified in node {name}', 'IncorrectValue',
            'nodes')
    elif not isinstance(PROVIDERS.get(provider, {}).get(n['provider']), dict):
      error(f'Provider {n["provider"]} specified in node {name} is not compatible with lab '
            f'topology provider {provider}', 'IncorrectValue', 'nodes')
    else:
      set_dotted(topo, f'{provider}.providers.{n["provider"]}', True)
  exit_on_error()
  for p in [provider] + [n['provider'] for n in nodes.values() if 'provider' in n]:
    if p not in PROVIDERS:
      fatal(f'netlab-sim does not emulate the {p} provider (only clab and libvirt)', 'netlab-sim')
  return provider


def find_node_image(name, n, defaults, provider):
  """augment.nodes.find_node_image: box, image, device image, device/provider image."""
  dev = n['device']
  if n.get('box'):
    return
  if 'image' in n:
    n['box'] = n.pop('image')
  elif get_dotted(defaults, f'devices.{dev}.image'):
    n['box'] = get_dotted(defaults, f'devices.{dev}.image')
  elif get_dotted(defaults, f'devices.{dev}.{provider}.image'):
    n['box'] = get_dotted(defaults, f'devices.{dev}.{provider}.image')
  elif isinstance(devices()[dev].get(provider), dict) and devices()[dev][provider].get('image'):
    n['box'] = devices()[dev][provider]['image']
  else:
    error(f'No image specified for device {dev} (provider {provider}) used by node {name}',
          'MissingValue', 'nodes')


def assign_node_ids(nodes):
  """Static ids are reserved first, the others get the lowest free id in node order."""
  used = {}
  for name, n in nodes.items():
    if 'id' in n:
      nid = n['id']
      if isinstance(nid, bool) or not isinstance(nid, int) or nid < 1:
        error(f"attribute 'nodes.{name}.id' must be a positive integer, found {type_name(nid)}",
              'IncorrectType', 'nodes')
      elif nid in used:
        error(f'Node {name} has the same ID ({nid}) as node {used[nid]}', 'IncorrectValue',
              'nodes')
      else:
        used[nid] = name
  exit_on_error()
  next_id = 1
  for name, n in nodes.items():
    if 'id' not in n:
      while next_id in used:
        next_id += 1
      n['id'] = next_id
      used[next_id] = name


def clab_node_data(topo, defaults, name, n):
  """The clab provider's node data: kind, config templates and binds, container name."""
  dev = n['device']
  clab = dict(n.get('clab') or {})
  kind = dev_attr(dev, 'clab', 'kind')
  if kind and 'kind' not in clab:
    clab['kind'] = kind
  templates = dev_attr(dev, 'clab', 'config_templates') or {}
  if templates:
    ct_list, binds = [], list(clab.get('binds') or [])
    for src, target in templates.items():
      mode = ''
      if ':' in target:
        target, mode = target.split(':', 1)
      item = {'source': src, 'target': target}
      if mode:
        item['mode'] = mode
      ct_list.append(item)
      if mode == 'shared':
        binds.append({'mode': 'ro', 'source': f'node_files/-shared-{src}', 'target': target})
      elif not mode:
        binds.append({'source': f'node_files/{name}/{src}', 'target': target})
    clab['config_templates'] = ct_list
    clab['binds'] = binds
  n['clab'] = clab
  lab_prefix = get_dotted(defaults, 'providers.clab.lab_prefix', 'clab')
  n['hostname'] = f'{lab_prefix}-{topo["name"]}-{name}' if lab_prefix else name


def node_addresses(topo, defaults, addressing, nodes):
  """Management interface, MAC and IPv4 (pool + start + id), loopback, provider node data."""
  ipaddress = ip_mod()
  mgmt_pool = addressing.get('mgmt', {})
  try:
    mgmt_net = ipaddress.ip_network(mgmt_pool.get('ipv4', '192.168.121.0/24'), strict=False)
  except ValueError as ex:
    error(f'Cannot parse the management IPv4 prefix {mgmt_pool.get("ipv4")}: {ex}',
          'IncorrectValue', 'addressing')
    exit_on_error()
  mgmt_start = int(mgmt_pool.get('start', 100))
  mac_base = int(str(mgmt_pool.get('mac', 'CA-FE-00-00-00-00')).replace('-', '').replace(':', ''),
                 16)
  lo_pool = addressing.get('loopback', {})
  lo_net = ipaddress.ip_network(lo_pool.get('ipv4', '10.0.0.0/24'), strict=False) \
    if isinstance(lo_pool.get('ipv4'), str) else None
  for name, n in nodes.items():
    dev, nid = n['device'], n['id']
    provider = n.get('provider', topo['provider'])
    for attr in ('role', 'mtu'):
      if attr not in n and dev_attr(dev, provider, attr) is not None:
        n[attr] = dev_attr(dev, provider, attr)
    mgmt = n.get('mgmt') if isinstance(n.get('mgmt'), dict) else {}
    if 'ifname' not in mgmt:
      mgmt_if = dev_attr(dev, provider, 'mgmt_if')
      if not mgmt_if:
        offset = dev_attr(dev, provider, 'ifindex_offset', 1)
        mgmt_if = eval_format(dev_attr(dev, provider, 'interface_name'), {'ifindex': offset - 1})
      mgmt['ifname'] = mgmt_if
    if 'mac' not in mgmt:
      mac = mac_base + nid * (65536 if nid < 256 else 1)
      mgmt['mac'] = ':'.join(f'{(mac >> s) & 0xff:02x}' for s in range(40, -8, -8))
    if not isinstance(mgmt.get('ipv4'), str):
      addr = mgmt_net.network_address + mgmt_start + nid
      if addr not in mgmt_net or addr == mgmt_net.broadcast_address:
        error(f'Cannot assign management IPv4 address to node {name}: {mgmt_net} is too small '
              f'for node ID {nid} (start offset {mgmt_start})', 'IncorrectValue', 'nodes')
      else:
        mgmt['ipv4'] = str(addr)
    n['mgmt'] = mgmt
    if n.get('role', 'router') == 'router' and lo_net is not None and 'loopback' not in n:
      addr = lo_net.network_address + nid
      if addr in lo_net:
        lo_name = dev_attr(dev, provider, 'loopback_interface_name', 'Loopback{ifindex}')
        n['loopback'] = {'ifindex': 0, 'ifname': eval_format(lo_name, {'ifindex': 0}),
                         'ipv4': f'{addr}/{lo_pool.get("prefix", 32)}', 'neighbors': [],
                         'type': 'loopback', 'virtual_interface': True}
      else:
        error(f'Cannot assign loopback address to node {name} from {lo_net}', 'IncorrectValue',
              'nodes')
    if provider == 'clab':
      clab_node_data(topo, defaults, name, n)
    n.setdefault('interfaces', [])
  exit_on_error()


def copy_group_data(topo, nodes):
  """groups copy their node attributes to members; top-level `module` is copied to nodes."""
  groups = topo.get('groups')
  if isinstance(groups, dict):
    for gdata in groups.values():
      if not isinstance(gdata, dict):
        continue
      for member in gdata.get('members') or []:
        if member not in nodes:
          continue
        for k, v in gdata.items():
          if k in ('members', 'vars', 'node_data', '_auto_create', 'config'):
            continue
          nodes[member].setdefault(k, v)
  if isinstance(topo.get('module'), list):
    for n in nodes.values():
      n.setdefault('module', list(topo['module']))


def transform(raw, topo_path, cli=None):
  """Reads the topology (already parsed YAML), applies defaults, environment and CLI settings
  and computes what netlab's transformation produces for nodes and links."""
  State.topo_file = os.path.basename(topo_path)
  abs_path = os.path.abspath(topo_path)
  if raw is None:
    raw = {}
  if not isinstance(raw, dict):
    fatal(f'Cannot read YAML from {abs_path}: top-level element must be a dictionary')
  topo = expand_dots(raw)
  if 'includes' in topo:
    eprint(f'Errors encountered while processing {State.topo_file}')
    fatal('The "includes" topology element shall not be used', 'topology')
  defaults = load_defaults(topo, topo_path, abs_path)
  if cli and (cli.get('settings') or cli.get('device') or cli.get('provider') or cli.get('plugin')):
    apply_cli(topo, defaults, cli)

  # topology_init (plugins), topology_sanity_check (name), plugin init hooks, required elements
  use_multilab = load_plugins(topo, defaults)
  if 'name' not in topo:
    topo['name'] = name_from_path(topo_path)[:12]
  if not isinstance(topo['name'], str):
    error(f"attribute 'name' must be a string, found {type_name(topo['name'])}", 'IncorrectType',
          'topology')
  else:
    defaults['name'] = topo['name']
  topo['nodes'] = create_node_dict(topo.get('nodes'))
  exit_on_error()
  if use_multilab:
    multilab.init(topo)
  if not topo.get('nodes'):
    error("Required topology element 'nodes' is missing or empty", 'MissingValue', 'topology')
    fatal('Fatal topology errors, aborting')
  exit_on_error()

  nodes = topo['nodes']
  copy_group_data(topo, nodes)
  provider = select_provider(topo, defaults, nodes)

  for name, n in nodes.items():                     # augment_node_provider_data
    if 'device' not in n:
      n['device'] = defaults.get('device')
    if not n['device']:
      error(f'No device type specified for node {name} and there is no default device type',
            'MissingValue', 'nodes')
      continue
    if n['device'] not in devices():
      error(f"attribute 'nodes.{name}.device' must be known device type identifier "
            f"(got {n['device']})", 'IncorrectValue', 'nodes',
            hints=["Use 'netlab show devices' to display a list of valid devices"])
      continue
    find_node_image(name, n, defaults, n.get('provider', provider))
  exit_on_error()

  # check_global_elements, node validation
  for key in list(topo):
    if key not in TOPOLOGY_ATTRIBUTES and not key.startswith('_'):
      error(f"Invalid topology attribute '{key}' found in topology", 'IncorrectAttr', 'topology',
            hints=["Use 'netlab show attributes' to display valid attributes"])
  if not is_id(topo['name']):
    error(f"attribute 'name' must be a 16-character identifier, found {type_name(topo['name'])}",
          'IncorrectType', 'topology')
  for name in nodes:
    if not is_id(name):
      error(f'node name {name} must be a 16-character identifier, found {type_name(name)}',
            'IncorrectType', 'nodes',
            hints=['FYI: a 16-character identifier is a string starting with a letter or an '
                   'underscore and containing up to 16 letters, numbers, or underscores'])
  exit_on_error()

  addressing = json.loads(json.dumps(defaults.get('addressing', {})))
  if isinstance(topo.get('addressing'), dict):
    addressing = deep_merge(addressing, topo['addressing'])
  topo['addressing'] = addressing

  assign_node_ids(nodes)
  node_addresses(topo, defaults, addressing, nodes)
  transform_links(topo, nodes, addressing)
  exit_on_error()

  for n in nodes.values():
    has_v4 = isinstance(n.get('loopback', {}).get('ipv4'), str) or \
      any(isinstance(i.get('ipv4'), str) for i in n['interfaces'])
    n['af'] = {'ipv4': True} if has_v4 else {}

  # Keep the device/provider data the lab uses, like netlab's snapshot keeps defaults
  used_devices = sorted({n['device'] for n in nodes.values()})
  dev_defaults = defaults.get('devices') if isinstance(defaults.get('devices'), dict) else {}
  defaults['devices'] = {d: deep_merge(devices()[d], dev_defaults.get(d) or {})
                         for d in used_devices}
  defaults['providers'] = deep_merge(json.loads(json.dumps(PROVIDERS)),
                                     defaults.get('providers') or {})
  return topo
