# netsim/augment/devices.py (netlab 26.03): the device-data lookups the inventory code uses. They
# work on the transformed topology (node, topology.defaults), so they see what the snapshot
# holds, including defaults a topology overrode. Inside inspect expressions this module is
# importable as netsim.augment.devices.
from .box import Box
from .log import fatal
from .util import deep_merge


def _plain_add(value, pvalue):
  """Box + Box: a merged copy, the second one wins."""
  from .box import unwrap
  return Box(deep_merge(unwrap(value), unwrap(pvalue)))


def get_provider(node, defaults):
  """Node-specific provider or the lab (default) provider."""
  return node.get('provider', defaults.get('provider'))


def _device_data(node, defaults, what):
  devtype = node.get('device')
  devices = defaults.get('devices') or {}
  if devtype not in devices:
    fatal(f'Internal error: call to {what} with unknown device {devtype}')
  return devices[devtype]


def get_device_attribute(node, attr, defaults):
  """Provider-specific value if it is not a dictionary; a merge of the device and provider
  dictionaries; else whatever the device value is."""
  provider = get_provider(node, defaults)
  devdata = _device_data(node, defaults, 'get_device_attribute')
  pdata = devdata.get(provider)
  pvalue = None
  if isinstance(pdata, dict) and attr in pdata:
    pvalue = pdata[attr]
    if not isinstance(pvalue, dict):
      return pvalue
  value = devdata.get(attr)
  if isinstance(value, dict) and isinstance(pvalue, dict):
    return _plain_add(value, pvalue)
  if isinstance(pdata, dict) and attr in pdata:
    return pvalue
  return value


def get_provider_data(node, defaults):
  """All device data for the node's provider."""
  devdata = _device_data(node, defaults, 'get_provider_data')
  return devdata.get(get_provider(node, defaults), Box())


def get_consolidated_device_data(node, defaults):
  """Device data merged with the provider data, without the per-provider dictionaries."""
  devdata = _device_data(node, defaults, 'get_consolidated_device_data')
  data = _plain_add(devdata, devdata.get(get_provider(node, defaults)) or {})
  for p in list((defaults.get('providers') or {}).keys()):
    data.pop(p, None)
  return data


def get_node_group_var(node, g_var, defaults):
  """A group variable from the node, else the device default for the node provider."""
  if g_var in node:
    return node.get(g_var)
  return get_consolidated_device_data(node, defaults).get(f'group_vars.{g_var}', None)
