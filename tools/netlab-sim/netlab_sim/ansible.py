# The Ansible inventory (outputs/ansible.py): hosts.yml with the minimal per-host variables,
# group_vars/<group>/topology.json, host_vars/<node>/topology.json, ansible.cfg.
import json

from .log import State
from .outputs import check_writeable, ghost_buster
from .outputs_common import adjust_inventory_host, get_host_addresses
from .util import deep_merge, to_yaml, write_text

MIN_INVENTORY = ('id', 'ansible_host', 'ansible_port', 'ansible_connection', 'ansible_user',
                 'ansible_ssh_pass')


def get_all_vars(topo):
  """The 'all' group: provider, lab name, host addresses, address pools."""
  hosts = get_host_addresses(topo)
  out = {'netlab_provider': topo['defaults']['provider'], 'netlab_name': topo['name'],
         'hosts': hosts, 'netlab_hosts': hosts}
  for k, v in (topo['defaults'].get('paths') or {}).items():
    out[f'paths_{k}'] = v
  if 'prefix' in topo:
    out['prefix'] = topo['prefix']
  pools = {}
  for pool, data in topo.get('addressing', {}).items():
    if isinstance(data, dict):
      pools[pool] = {k: v for k, v in data.items() if '_pfx' not in k and '_eui' not in k}
  out['pools'] = pools
  return out


def device_group_vars(topo, device):
  """devdata.group_vars + devdata[defaults.provider].group_vars, plus the device features."""
  devdata = topo['defaults']['devices'][device]
  provider = topo['defaults']['provider']
  pdata = devdata.get(provider) if isinstance(devdata.get(provider), dict) else {}
  gv = deep_merge(devdata.get('group_vars') or {}, pdata.get('group_vars') or {})
  gv['features'] = devdata.get('features') or {}
  return gv


def write_ansible(topo):
  check_writeable('Ansible inventory')
  topo = ghost_buster(topo)
  header = f'# Ansible inventory created from {topo["input"]}\n#\n'
  inventory = {'all': {'hosts': {}}}
  for grp in ('modules', 'custom_configs', 'daemons', 'unprovisioned', 'netlab_no_reload'):
    inventory[grp] = {'hosts': {}}
  group_vars = {'all': get_all_vars(topo)}
  if 'module' in topo:
    group_vars['modules'] = {'netlab_module': topo['module']}
  for name, node in topo['nodes'].items():
    dev = node['device']
    host = adjust_inventory_host(node, topo['defaults'], group_vars=False)
    inventory.setdefault(dev, {'hosts': {}})['hosts'][name] = host.to_dict()
    if node.get('module'):
      inventory['modules']['hosts'][name] = {}
    if node.get('config'):
      inventory['custom_configs']['hosts'][name] = {}
    group_vars[dev] = device_group_vars(topo, dev)
  for grp in sorted(group_vars):
    g_name = grp.replace('-', '_')
    write_text(f'group_vars/{g_name}/topology.json',
               json.dumps(group_vars[grp], indent=2) + '\n')
    if not State.quiet:
      print(f'Created group_vars for {g_name}', flush=True)
  created = []
  for grp, gdata in list(inventory.items()):
    for host, hdata in gdata['hosts'].items():
      if not hdata:
        continue
      min_host = {k: v for k, v in hdata.items() if k in MIN_INVENTORY}
      vars_host = {k: v for k, v in hdata.items() if k not in MIN_INVENTORY}
      write_text(f'host_vars/{host}/topology.json', json.dumps(vars_host, indent=2) + '\n')
      gdata['hosts'][host] = min_host
      created.append(host)
    if '-' in grp:
      inventory[grp.replace('-', '_')] = inventory.pop(grp)
  if not State.quiet and created:
    print(f'Created host_vars for {", ".join(created)}', flush=True)
  write_text('hosts.yml', header + '\n' + to_yaml(inventory))
  print('Created minimized Ansible inventory hosts.yml', flush=True)
  write_text('ansible.cfg', ANSIBLE_CFG)
  if not State.quiet:
    print('Created Ansible configuration file: ansible.cfg', flush=True)


ANSIBLE_CFG = '''[defaults]
ansible_managed = # Ansible Managed File
filter_plugins = ./filter_plugins
forks=10
gathering=explicit
host_key_checking=False
interpreter_python=auto_silent
inventory=hosts.yml
retry_files_enabled=false
roles_path=./roles
ssh_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
#stdout_callback=yaml
deprecation_warnings=False

[persistent_connection]
command_timeout=60

[paramiko_connection]
look_for_keys = false
record_host_keys = false
'''
