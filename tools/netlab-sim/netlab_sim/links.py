# Links (augment/links.py): canonical form, p2p/lan/stub types, subnets from the p2p and lan
# pools (or prefix:/pool:), interface names from the device templates, neighbors, bridges.
from .devices import dev_attr
from .log import error
from .util import eval_format, ip_mod


class Pools:
  """Sequential subnet allocation from the addressing pools (p2p, lan, ...)."""

  def __init__(self, addressing):
    self.addressing = addressing
    self.iters = {}

  def alloc(self, pool):
    data = self.addressing.get(pool)
    if not isinstance(data, dict) or not isinstance(data.get('ipv4'), str):
      return None
    if pool not in self.iters:
      net = ip_mod().ip_network(data['ipv4'], strict=False)
      plen = data.get('prefix') or (30 if pool == 'p2p' else 24)
      self.iters[pool] = net.subnets(new_prefix=plen) if plen > net.prefixlen else iter([net])
    try:
      return next(self.iters[pool])
    except StopIteration:
      error(f'Address pool {pool} is exhausted', 'IncorrectValue', 'addressing')
      return None


def transform_links(topo, nodes, addressing):
  ipaddress = ip_mod()
  pools = Pools(addressing)
  links = topo.get('links') or []
  if not isinstance(links, list):
    error("attribute 'links' must be a list", 'IncorrectType', 'links')
    return
  provider = topo['provider']

  def node_dev_attr(node, attr, default=None):
    return dev_attr(node['device'], node.get('provider', provider), attr, default)

  next_ifindex = {name: node_dev_attr(n, 'ifindex_offset', 1) for name, n in nodes.items()}
  out = []
  for index, link in enumerate(links, 1):
    linkname = f'links[{index}]'
    attrs, ifs = {}, []
    if isinstance(link, str):
      ifs = [{'node': n} for n in link.split('-')]
    elif isinstance(link, list):
      ifs = [{'node': n} for n in link]
    elif isinstance(link, dict):
      for i in link.get('interfaces') or []:
        if isinstance(i, dict) and 'node' in i:
          ifs.append(dict(i))
        else:
          error(f'Interface data in {linkname} must be a dictionary with a node attribute',
                'IncorrectValue', 'links')
      for k, v in link.items():
        if k == 'interfaces':
          continue
        if k in nodes:
          ifs.append({'node': k, **(v if isinstance(v, dict) else {})})
        else:
          attrs[k] = v
    else:
      error(f'Link {linkname} must be a string, a list or a dictionary', 'IncorrectType', 'links')
      continue
    bad = [i['node'] for i in ifs if i['node'] not in nodes]
    if bad:
      error(f"Invalid node reference or link attribute '{bad[0]}' found in {linkname}",
            'IncorrectValue', 'links')
      continue
    if not ifs:
      error(f'Link {linkname} has no nodes', 'MissingValue', 'links')
      continue

    count = len(ifs)
    ltype = attrs.get('type') or ('p2p' if count == 2 else 'stub' if count == 1 else 'lan')
    rec = {'_linkname': linkname, 'interfaces': [], 'linkindex': index, 'node_count': count,
           'type': ltype}
    for k in ('name', 'bandwidth', 'mtu', 'role', 'pool'):
      if k in attrs:
        rec[k] = attrs[k]
    if ltype == 'stub':
      rec['role'] = attrs.get('role', 'stub')
    if 'bridge' in attrs:
      rec['bridge'] = attrs['bridge']
    elif ltype in ('lan', 'stub'):
      rec['bridge'] = f'{topo["defaults"].get("name", topo["name"])[0:10]}_{index}'

    prefix = attrs.get('prefix')
    subnet = None
    if isinstance(prefix, str):
      subnet = ipaddress.ip_network(prefix, strict=False)
    elif isinstance(prefix, dict) and isinstance(prefix.get('ipv4'), str):
      subnet = ipaddress.ip_network(prefix['ipv4'], strict=False)
    elif prefix is None:
      subnet = pools.alloc(attrs.get('pool') or ('p2p' if ltype == 'p2p' else 'lan'))
    if subnet is not None:
      rec['prefix'] = {'ipv4': str(subnet)}

    # Address assignment: p2p links use .1/.2 in node-name order, others use the node ID
    order = sorted(range(count), key=lambda i: ifs[i]['node'])
    for pos, i in enumerate(order):
      iface = ifs[i]
      node = nodes[iface['node']]
      v4 = iface.get('ipv4')
      if isinstance(v4, str):
        if '/' not in v4 and subnet is not None:
          iface['ipv4'] = f'{v4}/{subnet.prefixlen}'
      elif isinstance(v4, int) and not isinstance(v4, bool) and subnet is not None:
        iface['ipv4'] = f'{subnet.network_address + v4}/{subnet.prefixlen}'
      elif v4 is None and subnet is not None:
        host = pos + 1 if ltype == 'p2p' else node['id']
        addr = subnet.network_address + host
        if subnet.num_addresses > 2 and (addr == subnet.broadcast_address or addr not in subnet):
          addr = subnet.network_address + pos + 1
        if addr in subnet:
          iface['ipv4'] = f'{addr}/{subnet.prefixlen}'

    for iface in ifs:
      node = nodes[iface['node']]
      ifindex = next_ifindex[iface['node']]
      next_ifindex[iface['node']] += 1
      iface['ifindex'] = ifindex
      iface['ifname'] = eval_format(node_dev_attr(node, 'interface_name'), {'ifindex': ifindex})
    for iface in ifs:
      node = nodes[iface['node']]
      others = [o for o in ifs if o is not iface]
      if 'name' in attrs:
        ifname_text = attrs['name']
      elif ltype == 'stub':
        ifname_text = f'{iface["node"]} -> stub'
      elif ltype == 'p2p' and len(others) == 1:
        ifname_text = f'{iface["node"]} -> {others[0]["node"]}'
      else:
        ifname_text = f'{iface["node"]} -> [{",".join(o["node"] for o in others)}]'
      entry = {k: v for k, v in iface.items() if k != 'node'}
      entry.update({'linkindex': index, 'name': ifname_text, 'type': ltype,
                    'neighbors': [{k: o[k] for k in ('ifname', 'ipv4', 'node') if k in o}
                                  for o in others]})
      if 'bridge' in rec:
        entry['bridge'] = rec['bridge']
      if ltype == 'stub':
        entry['role'] = rec['role']
      if node.get('provider', provider) == 'clab' and 'mtu' in node:
        entry.setdefault('mtu', attrs.get('mtu', node['mtu']))
      elif 'mtu' in attrs:
        entry['mtu'] = attrs['mtu']
      node['interfaces'].append(entry)
      rec['interfaces'].append({k: iface[k] for k in ('ifindex', 'ifname', 'ipv4', 'node')
                                if k in iface})
    out.append(rec)
  topo['links'] = out
