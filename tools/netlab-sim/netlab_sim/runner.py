# The external commands netlab runs (cli/external_commands.py), simulated: containerlab and
# vagrant print what they would, leave what they would (clab-<name>/), and the up/down knobs
# (delay, hang, failure, filler output) act where the real commands spend their time.
import json
import os
import shutil
import sys

from .devices import PROVIDERS
from .knobs import knob_delay, knob_fails, knob_hang
from .log import CLAB_VERSION, State, eprint
from .registry import lab_status_log
from .util import clock, get_dotted, write_text


def node_provider(topo, node):
  return node.get('provider') or topo['provider']


def provider_nodes(topo, provider):
  """The nodes a provider starts (providers.select_topology without the copies)."""
  return {n: d for n, d in topo['nodes'].items()
          if node_provider(topo, d) == provider and not d.get('unmanaged')}


def log_command(cmd, result):
  if State.log_commands and State.topo is not None:
    lab_status_log(State.topo, f'{result}: {cmd}')


def run_command(cmd, action=None, ignore_errors=False):
  """external_commands.run_command: returns True on success. `action` simulates the command and
  returns True/False."""
  if State.dry_run:
    print(f'DRY RUN: {cmd}', flush=True)
    return True
  ok = action() if action is not None else True
  log_command(cmd, 'OK' if ok else 'ERROR')
  if not ok and not State.quiet and not ignore_errors:
    print(f"Error executing {cmd}:\n  Command '{cmd.split()}' returned non-zero exit status 1.",
          flush=True)
  return ok


def write_all(fd, data):
  view = memoryview(data)
  while view:
    view = view[os.write(fd, view):]


def emit_filler(stdout_bytes, stderr_bytes):
  """Writes exactly the requested number of bytes of filler lines, alternating 64 KiB chunks
  between stderr and stdout so a reader that drains only one pipe deadlocks like it would with
  a chatty containerlab."""
  if not stdout_bytes and not stderr_bytes:
    return
  sys.stdout.flush()
  sys.stderr.flush()
  remaining = {1: stdout_bytes, 2: stderr_bytes}
  seq = {1: 0, 2: 0}
  label = {1: 'stdout', 2: 'stderr'}
  chunk_lines = 655                                 # 655 lines x 100 bytes = 65500 bytes
  while remaining[1] or remaining[2]:
    for fd in (2, 1):
      want = min(remaining[fd], chunk_lines * 100)
      if not want:
        continue
      lines = []
      for _ in range((want + 99) // 100):
        seq[fd] += 1
        head = f'netlab-sim {label[fd]} filler line {seq[fd]:012d} '
        lines.append(head + 'x' * (99 - len(head)) + '\n')
      chunk = ''.join(lines)[:want].encode()
      if chunk[-1:] != b'\n':
        chunk = chunk[:-1] + b'\n'
      write_all(fd, chunk)
      remaining[fd] -= want


def print_table(rows):
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  sep = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
  print(sep)
  for idx, row in enumerate(rows):
    print('| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |')
    if idx == 0:
      print(sep)
  print(sep, flush=True)


def clab_deploy(topo, cwd, config='clab.yml'):
  """What `sudo -E containerlab deploy --reconfigure -t <config>` shows and leaves behind."""
  name = topo['name']
  nodes = provider_nodes(topo, 'clab')
  mgmt = get_dotted(topo, 'addressing.mgmt', {})
  eprint(f'{clock()} INFO Containerlab started version={CLAB_VERSION}')
  eprint(f'{clock()} INFO Parsing & checking topology file={config}')
  eprint(f'{clock()} INFO Creating docker network name={mgmt.get("_network") or "netlab_mgmt"} '
         f'IPv4 subnet={mgmt.get("ipv4")} IPv6 subnet="" MTU=1500')
  eprint(f'{clock()} INFO Creating lab directory path={os.path.join(cwd, "clab-" + name)}')
  for node in nodes:
    eprint(f'{clock()} INFO Creating container name={node}')
  emit_filler(State.knobs['stdout_bytes'], State.knobs['stderr_bytes'])
  knob_delay('up')
  knob_hang('up')
  if knob_fails('start'):
    first = next(iter(nodes), '?')
    eprint(f'{clock()} ERRO failed deploy stage for node "{first}": '
           f'Error response from daemon: container start failed (injected by FAKE_NETLAB_FAIL=start)')
    eprint('Error: failed to deploy lab')
    return False
  for link in topo.get('links', []):
    ends = [f'{i["node"]}:{i["ifname"]}' for i in link['interfaces'] if i['node'] in nodes]
    if ends:
      eprint(f'{clock()} INFO Created link: {" <--> ".join(ends)}')
  eprint(f'{clock()} INFO Adding host entries path=/etc/hosts')
  eprint(f'{clock()} INFO Adding SSH config for nodes path=/etc/ssh/ssh_config.d/clab-{name}.conf')
  labdir = os.path.join(cwd, f'clab-{name}')
  os.makedirs(labdir, exist_ok=True)
  write_text(os.path.join(labdir, 'topology-data.json'), json.dumps({
    'name': name, 'type': 'clab',
    'nodes': {n: {'longname': d.get('hostname', n), 'kind': d.get('clab', {}).get('kind', ''),
                  'image': d.get('box'), 'mgmt-ipv4-address': d['mgmt'].get('ipv4', '')}
              for n, d in nodes.items()}}, indent=2) + '\n')
  rows = [('Name', 'Kind/Image', 'State', 'IPv4/6 Address')]
  for n, d in nodes.items():
    rows.append((d.get('hostname', n), f'{d.get("clab", {}).get("kind", "")} {d.get("box")}',
                 'running', d['mgmt'].get('ipv4', 'N/A')))
  print_table(rows)
  return True


def clab_destroy(topo, cwd, fail, config='clab.yml'):
  name = topo['name']
  nodes = provider_nodes(topo, 'clab')
  eprint(f'{clock()} INFO Parsing & checking topology file={config}')
  eprint(f'{clock()} INFO Destroying lab name={name}')
  knob_delay('down')
  knob_hang('down')
  if fail:
    eprint(f'{clock()} ERRO Error response from daemon: cannot remove container '
           f'"{next(iter(nodes.values()), {}).get("hostname", name)}": '
           f'device or resource busy (injected by FAKE_NETLAB_FAIL)')
    eprint('Error: failed to destroy lab')
    return False
  for node, data in nodes.items():
    eprint(f'{clock()} INFO Removed container name={data.get("hostname", node)}')
  eprint(f'{clock()} INFO Removing host entries path=/etc/hosts')
  eprint(f'{clock()} INFO Removing SSH config path=/etc/ssh/ssh_config.d/clab-{name}.conf')
  shutil.rmtree(os.path.join(cwd, f'clab-{name}'), ignore_errors=True)
  return True


def vagrant_up(topo):
  for node in provider_nodes(topo, 'libvirt'):
    print(f'Bringing machine \'{node}\' up with \'libvirt\' provider...', flush=True)
  emit_filler(State.knobs['stdout_bytes'], State.knobs['stderr_bytes'])
  knob_delay('up')
  knob_hang('up')
  if knob_fails('start'):
    eprint('An error occurred while executing multiple actions in parallel. '
           '(injected by FAKE_NETLAB_FAIL=start)')
    return False
  return True


def vagrant_destroy(topo, fail):
  knob_delay('down')
  knob_hang('down')
  if fail:
    eprint('Error while destroying domain: Call to virDomainDestroyFlags failed '
           '(injected by FAKE_NETLAB_FAIL)')
    return False
  for node in provider_nodes(topo, 'libvirt'):
    print(f'==> {node}: Removing domain...', flush=True)
  return True


def provider_command(topo, provider, secondary, what):
  """(command, config file) that starts or stops ('start'/'stop') a provider's nodes: the
  provider's own command, or for a secondary provider (containers in a libvirt lab) the one the
  primary provider defines for it."""
  if secondary:
    sdata = get_dotted(topo, f'defaults.providers.{provider}.{secondary}') or {}
    return sdata.get(what), sdata.get('filename')
  return get_dotted(topo, f'defaults.providers.{provider}.{what}') or PROVIDERS[provider][what], None


def provider_action(topo, provider, start, fail=False, config=None):
  """The simulated start (or stop) command of one provider."""
  cwd = os.getcwd()
  if provider == 'clab':
    config = config or 'clab.yml'
    return (lambda: clab_deploy(topo, cwd, config)) if start else \
      (lambda: clab_destroy(topo, cwd, fail, config))
  return (lambda: vagrant_up(topo)) if start else (lambda: vagrant_destroy(topo, fail))
