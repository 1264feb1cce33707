# The classes inspect expressions see. Real netlab evaluates them against python-box objects
# (Box(topology, box_dots=True): attribute access, dotted keys, no default boxes); these dict and
# list subclasses behave the same for everything an expression reads, and are named like
# python-box's so type(nodes).__name__ and error messages match.
import json


class BoxKeyError(KeyError, AttributeError):
  """python-box's BoxKeyError: a KeyError that is also an AttributeError."""


class Box(dict):
  """A dictionary with attribute access and box_dots lookups ('mgmt.ipv4'). Nested dictionaries
  and lists are converted on first access and stored back, so repeated access returns the same
  object (mutations stick, as with python-box)."""
  __slots__ = ()

  def __getitem__(self, key):
    if dict.__contains__(self, key):
      value = dict.__getitem__(self, key)
      boxed = wrap(value)
      if boxed is not value:
        dict.__setitem__(self, key, boxed)
      return boxed
    if isinstance(key, str) and '.' in key:
      head, _, rest = key.partition('.')
      if dict.__contains__(self, head):
        sub = self[head]
        if isinstance(sub, Box):
          return sub[rest]
    raise BoxKeyError(repr(key))

  def __getattr__(self, key):
    try:
      return self[key]
    except KeyError:
      raise BoxKeyError(f"'Box' object has no attribute '{key}'") from None

  def __setattr__(self, key, value):
    self[key] = value

  def __delattr__(self, key):
    try:
      del self[key]
    except KeyError:
      raise BoxKeyError(f"'Box' object has no attribute '{key}'") from None

  def __contains__(self, key):
    if dict.__contains__(self, key):
      return True
    if isinstance(key, str) and '.' in key:
      head, _, rest = key.partition('.')
      if dict.__contains__(self, head):
        sub = self[head]
        return isinstance(sub, (dict, list)) and rest in sub
    return False

  def get(self, key, default=None):
    if key not in self:
      return wrap(default)
    return self[key]

  def values(self):
    return [self[k] for k in dict.keys(self)]

  def items(self):
    return [(k, self[k]) for k in dict.keys(self)]

  def copy(self):
    return Box(dict.copy(self))

  def __add__(self, other):
    if not isinstance(other, dict):
      raise TypeError('Box can only merge two boxes or a box and a dictionary.')
    from .util import deep_merge
    return Box(deep_merge(unwrap(self), unwrap(other)))

  def to_dict(self):
    return unwrap(self)

  def to_json(self, **kwargs):
    return json.dumps(unwrap(self), ensure_ascii=False, **kwargs)

  def to_yaml(self):
    from .util import to_yaml
    return to_yaml(unwrap(self))


class BoxList(list):
  """python-box's BoxList: dictionaries inside are Boxes."""
  __slots__ = ()

  def __getitem__(self, index):
    if isinstance(index, slice):
      return BoxList(list.__getitem__(self, index))
    value = list.__getitem__(self, index)
    boxed = wrap(value)
    if boxed is not value:
      list.__setitem__(self, index, boxed)
    return boxed

  def __iter__(self):
    for i in range(len(self)):
      yield self[i]

  def to_list(self):
    return unwrap(self)

  def to_json(self, **kwargs):
    return json.dumps(unwrap(self), ensure_ascii=False, **kwargs)


def wrap(value):
  if isinstance(value, dict) and not isinstance(value, Box):
    return Box(value)
  if isinstance(value, list) and not isinstance(value, BoxList):
    return BoxList(value)
  return value


def unwrap(value):
  """Plain dictionaries and lists (for JSON/YAML output and pickling)."""
  if isinstance(value, dict):
    return {k: unwrap(v) for k, v in dict.items(value)}
  if isinstance(value, list):
    return [unwrap(v) for v in list.__iter__(value)]
  return value
