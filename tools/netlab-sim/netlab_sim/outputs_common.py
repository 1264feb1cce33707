# netsim/outputs/common.py (netlab 26.03): the Ansible view of a node. `netlab inspect --node`,
# `netlab status` and the Ansible inventory all call adjust_inventory_host, and inside inspect
# expressions this module is importable as netsim.outputs.common, so
#   __import__("netsim.outputs.common", fromlist=["adjust_inventory_host"]).adjust_inventory_host(
#     node=nodes[n], defaults=defaults, group_vars=True)
# returns exactly what `netlab inspect --node n` prints (minus _netlab_version).
from . import augment_devices as devices
from .box import Box, wrap

topo_to_host = {'hostname': 'ansible_host', 'mgmt.ipv4': 'ansible_host', 'id': 'id'}
topo_to_host_skip = ['name', 'device']


def provider_inventory_settings(node, defaults):
  """Copies provider-specific inventory settings (and forwarded ports) into node data."""
  n_provider = devices.get_provider(node, defaults)
  p_data = (defaults.get('providers') or {}).get(n_provider)
  if not p_data:
    return
  if 'inventory' in p_data:
    for k, v in p_data['inventory'].items():
      node[k] = v
  if 'inventory_port_map' in p_data and 'forwarded' in p_data:
    for k, v in p_data['inventory_port_map'].items():
      if k in p_data['forwarded']:
        node[v] = p_data['forwarded'][k] + node['id']


def add_group_vars(host, node, defaults, provider_only=False):
  """Adds the device (or only the device/provider) group variables the host does not have."""
  if provider_only:
    group_vars = devices.get_provider_data(node, defaults).get('group_vars', {})
  else:
    group_vars = devices.get_device_attribute(node, 'group_vars', defaults)
  if isinstance(group_vars, dict):
    for k, v in group_vars.items():
      if k not in host:
        host[k] = v
  return group_vars


def adjust_inventory_host(node, defaults, translate=None, ignore=None, group_vars=False,
                          template_vars=False):
  node = wrap(node)
  defaults = wrap(defaults)
  host = Box()

  n_provider = devices.get_provider(node, defaults)
  if group_vars:                          # group variables first: we need ansible_connection
    g_vars = add_group_vars(host, node, defaults)
  else:
    # Without group variables the provider group variables of a node with a non-default
    # provider are still needed (they might change ansible_connection, for example)
    g_vars = devices.get_device_attribute(node, 'group_vars', defaults)
    if n_provider != defaults.get('provider'):
      add_group_vars(host, node, defaults, provider_only=True)

  translate = translate or topo_to_host
  if ignore is None:
    ignore = topo_to_host_skip

  if template_vars:
    node['inventory_hostname'] = node['name']
    node['netlab_device_type'] = host.get('netlab_device_type',
                                          host.get('ansible_network_os', 'none'))
    node['node_provider'] = n_provider
    node['netlab_interfaces'] = ([node.get('loopback')] if 'loopback' in node else []) + \
      list(node.get('interfaces', []))

  # Docker nodes: ansible_host is the container name (hostname), never mgmt.*; everywhere else
  # mgmt.ipv4 overwrites hostname
  ansible_connection = host.get('ansible_connection', '')
  if not ansible_connection and isinstance(g_vars, dict):
    ansible_connection = g_vars.get('ansible_connection', '')
  if ansible_connection == 'docker':
    translate = {k: v for k, v in translate.items() if 'mgmt.' not in k}

  for node_key, inv_key in translate.items():
    value = node.get(node_key, None)
    if value is not None:
      host[inv_key] = value

  for k, v in node.items():
    if k not in ignore:
      host[k] = v

  provider_inventory_settings(host, defaults)
  return host


def create_adjusted_topology(topology, ignore=('name',), template_vars=False):
  """A copy of the topology whose nodes are replaced by their Ansible view."""
  from .box import unwrap
  topo_copy = wrap(unwrap(topology))
  for node in list(topo_copy['nodes'].keys()):
    topo_copy['nodes'][node] = adjust_inventory_host(
      node=topo_copy['nodes'][node], defaults=topology['defaults'], ignore=list(ignore),
      group_vars=True, template_vars=template_vars)
  return topo_copy


def get_host_addresses(topology):
  """The usable IPv4 addresses of every node (group_vars/all 'hosts'), loopback first; nodes
  without addresses are left out."""
  hosts = {}
  for name in sorted(topology['nodes']):
    node = topology['nodes'][name]
    lo = node.get('loopback') or {}
    intf_list = list(node.get('interfaces') or [])
    if lo:
      intf_list = [lo] + intf_list
      if isinstance(lo.get('ipv4'), str):
        hosts.setdefault(name, {}).setdefault('loopback', []).append(lo['ipv4'].split('/')[0])
    for intf in intf_list:
      h_name = f'{name}-{intf["vrf"]}' if 'vrf' in intf else name
      if isinstance(intf.get('ipv4'), str):
        hosts.setdefault(h_name, {}).setdefault('ipv4', []).append(intf['ipv4'].split('/')[0])
  return hosts
