# Files written by `netlab create` and the create phase of `netlab up` (outputs/*.py), in
# netlab's order: node_files (config), provider configuration (clab.yml, Vagrantfile, and
# clab-augment.yml for containers in a libvirt lab), the snapshot, tool directories, Ansible.
import json
import os
import shutil

from .devices import dev_attr
from .log import LOCK_FILE, fatal
from .runner import node_provider, provider_nodes
from .snapshot import write_snapshot
from .util import get_dotted, write_text


def check_writeable(target):
  if os.path.exists(LOCK_FILE):
    print(f'''
It looks like you have another lab running in this directory. netlab cannot
create {target} as that might impact your ability to shut down
the other lab.

Please use 'netlab status' to check the status of labs running on this machine, or
'netlab down' to shut down the other lab running in this directory.

If you are sure that no other lab is running in this directory, you can remove
the netlab.lock file manually and retry.
''', flush=True)
    fatal('Cannot create configuration files in a locked directory')


def ghost_buster(topo):
  """Removes unmanaged nodes (augment.nodes.ghost_buster)."""
  nodes = topo.get('nodes') or {}
  ghosts = [n for n, d in nodes.items() if isinstance(d, dict) and d.get('unmanaged')]
  if not ghosts:
    return topo
  topo = dict(topo)
  topo['nodes'] = {n: d for n, d in nodes.items() if n not in ghosts}
  return topo


def write_node_files(topo):
  """The `config` output: node_files/<node>/<template> (wiped and regenerated)."""
  check_writeable('device configuration files')
  if os.path.isdir('node_files'):
    shutil.rmtree('node_files', ignore_errors=True)
  topo = ghost_buster(topo)
  hosts_text = '127.0.0.1 localhost\n' + ''.join(
    f'{n["mgmt"].get("ipv4", "")} {name}' + (f' {n["hostname"]}' if 'hostname' in n else '') + '\n'
    for name, n in topo['nodes'].items() if n['mgmt'].get('ipv4'))
  shared = []
  for name, n in topo['nodes'].items():
    created = []
    os.makedirs(f'node_files/{name}', exist_ok=True)
    gvars = dev_attr(n['device'], node_provider(topo, n), 'group_vars') or {}
    config_mode = gvars.get('netlab_config_mode', 'cfg')
    for item in n.get('clab', {}).get('config_templates', []):
      src, mode = item['source'], item.get('mode', '')
      if mode == 'shared':
        if src not in shared:
          shared.append(src)
          write_text(f'node_files/-shared-{src}',
                     hosts_text if src == 'hosts' else f'# {src} (shared)\n')
          created.append(src)
        else:
          created.append(f'{src} (shared)')
        continue
      text = hosts_text if src == 'hosts' else \
        f'# netlab-sim: {src} for {name} ({n["device"]}), target {item.get("target", "")}\n'
      write_text(f'node_files/{name}/{src}', text,
                 0o755 if mode in ('sh', 'cp_sh') else None)
      created.append(src)
    for module in ['initial'] + list(n.get('module') or []) + list(n.get('config') or []):
      if module in created:
        continue
      shebang = '#!/bin/bash\n' if config_mode == 'sh' else ''
      write_text(f'node_files/{name}/{module}',
                 f'{shebang}# netlab-sim: {module} configuration for {name} ({n["device"]})\n',
                 0o755 if config_mode == 'sh' else None)
      created.append(module)
    print(f'{name}: {",".join(created)}', flush=True)


def clab_yml(topo, nodes=None):
  """clab.j2 for the given nodes (default: the nodes the clab provider starts)."""
  nodes = provider_nodes(topo, 'clab') if nodes is None else nodes
  p = get_dotted(topo, 'defaults.providers.clab', {})
  mgmt = topo['addressing'].get('mgmt', {})
  lines = [f'name: {topo["name"]}', f'prefix: "{p.get("lab_prefix", "")}"', '',
           'mgmt:', f'  network: {mgmt.get("_network") or "netlab_mgmt"}',
           f'  ipv4-subnet: {mgmt.get("ipv4", "172.20.20.0/24")}', "  # Note: 'start' not validated"]
  if mgmt.get('_bridge'):
    lines.append(f'  bridge: {mgmt["_bridge"]}')
  lines += ['topology:', '  nodes:']
  for name, n in nodes.items():
    clab = n.get('clab', {})
    lines.append(f'    {name}:')
    if clab.get('network-mode') != 'none' and 'ipv4' in n['mgmt']:
      lines.append(f'      mgmt-ipv4: {n["mgmt"]["ipv4"]}')
    kind = clab.get('kind', n['device'])
    lines.append(f'      kind: {kind}')
    if kind == 'linux' and 'restart-policy' not in clab:
      lines.append("      restart-policy: 'no'")
    for key in ('type', 'cmd', 'dns', 'env', 'ports', 'license', 'startup-delay',
                'restart-policy', 'network-mode', 'exec'):
      if key in clab:
        value = clab[key]
        lines.append(f"      {key}: '{value}'" if isinstance(value, str) else
                     f'      {key}: {json.dumps(value)}')
    lines.append(f'      image: {clab.get("image", n["box"])}')
    lines.append(f'      runtime: {clab.get("runtime", p.get("runtime", "docker"))}')
    if clab.get('binds'):
      lines.append('      binds:')
      for b in clab['binds']:
        if isinstance(b, dict):
          lines.append(f'      - {b["source"]}:{b["target"]}' + (f':{b["mode"]}' if 'mode' in b else ''))
        else:
          lines.append(f'      - {b}')
  links = topo.get('links') or []
  if links:
    bridges = []
    for link in links:
      if link['node_count'] > 2 and link.get('bridge') and link['bridge'] not in bridges:
        bridges.append(link['bridge'])
    for b in bridges:
      lines += [f'    {b}:', f'      kind: {p.get("bridge_type", "bridge")}']
    lines += ['', '  links:']
    mlid = get_dotted(topo, 'defaults.multilab.id', 0) or 0
    for link in links:
      ends = [(n, i) for n, d in nodes.items() for i in d['interfaces']
              if i.get('linkindex') == link['linkindex']]
      if not ends:
        continue
      if link['node_count'] == 1:
        for n, i in ends[:1]:
          lines += ['  - type: dummy', '    endpoint:', f'      node: "{n}"',
                    f'      interface: "{i["ifname"]}"']
      elif link['node_count'] == 2:
        lines.append('  - endpoints:')
        lines += [f'    - "{n}:{i["ifname"]}"' for n, i in ends]
      else:
        for n, i in ends:
          lines += ['  - endpoints:', f'    - "{n}:{i["ifname"]}"',
                    f'    - "{link["bridge"]}:bni{mlid}n{topo["nodes"][n]["id"]}i{i["ifindex"]}"']
  return '\n'.join(lines) + '\n'


def vagrantfile(topo):
  lines = ['# -*- mode: ruby -*-', '# vi: set ft=ruby :', '#', '# Vagrantfile generated by netlab',
           '', 'Vagrant.configure("2") do |config|']
  for name, n in provider_nodes(topo, 'libvirt').items():
    lines += [f'  config.vm.define "{name}" do |{name.replace("-", "_")}|',
              f'    {name.replace("-", "_")}.vm.box = "{n["box"]}"',
              f'    # management {n["mgmt"].get("ipv4")} {n["mgmt"].get("mac")}', '  end']
  lines.append('end')
  return '\n'.join(lines) + '\n'


def write_provider_file(topo):
  provider = topo['provider']
  fname = get_dotted(topo, f'defaults.providers.{provider}.config') or 'clab.yml'
  write_text(fname, clab_yml(topo) if provider == 'clab' else vagrantfile(topo))
  print(f'Created provider configuration file: {fname}', flush=True)
  for secondary in secondary_providers(topo):
    sdata = get_dotted(topo, f'defaults.providers.{provider}.{secondary}') or {}
    print(f'[INFO]    Creating configuration file for secondary provider {secondary}', flush=True)
    write_text(sdata.get('filename', f'{secondary}-augment.yml'), clab_yml(topo))


def secondary_providers(topo):
  """topology[provider].providers: the providers of nodes with their own provider."""
  return list(get_dotted(topo, f'{topo["provider"]}.providers', {}) or {})


def write_tools(topo):
  for tool in (topo.get('tools') or {}):
    os.makedirs(str(tool), exist_ok=True)
    print(f'Created {tool} configuration directory', flush=True)


def write_outputs(topo):
  """Default `netlab create` outputs, in netlab's order: config, provider, pickle, tools, ansible."""
  write_node_files(topo)
  write_provider_file(topo)
  write_snapshot(topo)
  write_tools(topo)
  from .ansible import write_ansible            # ansible.py uses check_writeable from here
  write_ansible(topo)
