# Dispatcher, `netlab version` and `netlab help`, signal handling and exit codes.
import importlib
import os
import signal
import sys

from .eventlog import EventLog
from .knobs import SIM_CONFIG_ERROR_RC, SimConfigError, knob_delay, knob_fails, knob_hang, load_knobs
from .log import INTERRUPT_HINT, NETLAB_VERSION, State, eprint, error_and_exit, extra_data_printout, fatal

# Commands that real netlab has but this simulator does not emulate.
REAL_COMMANDS = (
  'alias', 'api', 'capture', 'clab', 'collect', 'config', 'connect', 'debug', 'defaults', 'exec',
  'graph', 'initial', 'install', 'libvirt', 'report', 'restart', 'show', 'tc', 'test', 'usage',
  'validate')


def cmd_version(argv):
  knob_delay('version')
  knob_hang('version')
  if knob_fails('version'):
    eprint('Cannot import netsim Python module, netlab installation is broken')
    eprint("No module named 'box' (injected by FAKE_NETLAB_FAIL=version)")
    return 1
  script = os.path.abspath(sys.argv[0])
  user_defaults = [p for p in (os.path.expanduser('~/.netlab.yml'),
                               os.path.expanduser('~/topology-defaults.yml'),
                               '/etc/netlab/defaults.yml') if os.path.isfile(p)]
  sys.stdout.write(
    f'netlab version {NETLAB_VERSION}\n'
    f'  executable location: {script} (netlab-sim)\n'
    f"  package location: ['{os.path.dirname(os.path.abspath(__file__))}'] "
    f'(netlab-sim: simulator, no netsim package)\n'
    f'  user defaults: {user_defaults}\n'
    '\nRequired packages:\n'
    '  python-box: not used by netlab-sim\n'
    '  Jinja2: not used by netlab-sim\n'
    '  PyYAML: system python3-yaml\n'
    '  netaddr: not used by netlab-sim\n'
    '  requests: not used by netlab-sim\n'
    '  filelock: not used by netlab-sim (fcntl.flock)\n'
    '  rich: not used by netlab-sim\n'
    '\nOptional packages:\n'
    '  ruamel.yaml: not installed\n'
    '\nAnsible components:\n'
    '  ansible: not installed\n'
    '  ansible-core: not installed\n'
    '  ansible-pylibssh: not installed\n')
  # Like real netlab's warnings, this goes to stderr: whoever runs `netlab version` sees it.
  eprint('[WARNING] netlab-sim: this is the netlab SIMULATOR - no lab devices are started')
  return 0


USAGE = '''Usage:

    netlab <command> <parameters>

Creating the lab
================
up          Create virtualization provider and network automation configuration
            files, start the virtual lab, and deploy initial device configurations

create      Create virtualization provider and network automation configuration
            file. Assuming you're using Vagrant and Ansible, it creates
            Vagrantfile, hosts.yml and ansible.cfg. This command can also be
            used to create graph specifications or output transformed topology
            in YAML or JSON format.

Configuring and Controlling the Lab
===================================
down        Destroy the virtual lab

Reports and graphs
==================
status      Display the state of lab instances running on the current server

inspect     Helps you inspect data structures in transformed lab topology

Installation and testing commands
=======================================
version     Prints the version of netlab package

(netlab-sim emulates only the commands listed above; see docs/internals/netlab-sim.md)
'''


def cmd_help(argv):
  sys.stdout.write(USAGE)
  return 0


# Commands are imported on demand, so `netlab version` loads neither PyYAML nor the transformation.
COMMANDS = {'up': ('cmd_up', 'cmd_up'), 'down': ('cmd_down', 'cmd_down'),
            'inspect': ('cmd_inspect', 'cmd_inspect'), 'status': ('cmd_status', 'cmd_status'),
            'create': ('cmd_create', 'cmd_create')}


def dispatch(argv):
  if not argv:
    return cmd_help([])
  cmd = argv[0]
  if cmd in ('-h', '--help'):
    cmd = 'help'
  State.cmd = cmd
  if cmd == 'version':
    return cmd_version(argv[1:])
  if cmd == 'help':
    return cmd_help(argv[1:])
  if cmd in COMMANDS:
    module, func = COMMANDS[cmd]
    return getattr(importlib.import_module(f'.{module}', __package__), func)(argv[1:])
  if cmd in REAL_COMMANDS:
    fatal(f"netlab-sim does not emulate 'netlab {cmd}'", 'netlab-sim')
  error_and_exit(f'Unknown command {cmd}', module='netlab',
                 hints=["Use 'netlab help' to get the list of valid commands"])


def report_interrupt():
  """external_commands.interrupted, used for every command (real netlab does it for `up`)."""
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  msg = f'netlab {State.cmd or ""} command was interrupted'.replace('  ', ' ')
  try:
    print(flush=True)
    eprint(f'ErrorAbort in cli: {msg}')
    eprint(extra_data_printout(INTERRUPT_HINT))
  except OSError:
    pass
  if State.topo is not None and State.cmd == 'up' and not State.dry_run:
    try:
      from .registry import lab_status_log
      lab_status_log(State.topo, msg)
    except BaseException:
      pass


def main():
  argv = sys.argv[1:]
  try:
    sys.stdout.reconfigure(line_buffering=True)
  except (AttributeError, ValueError):
    pass
  try:
    State.knobs = load_knobs()
  except SimConfigError as ex:
    events = EventLog(os.environ.get('FAKE_NETLAB_LOG'))
    events.start(argv)
    eprint(f'netlab-sim: configuration error: {ex}')
    events.exit(SIM_CONFIG_ERROR_RC)
    return SIM_CONFIG_ERROR_RC
  events = State.events = EventLog(State.knobs['log'])
  if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    def on_sigterm(signum, frame):
      events.exit(-signal.SIGTERM, signal='SIGTERM')
      signal.signal(signal.SIGTERM, signal.SIG_DFL)
      os.kill(os.getpid(), signal.SIGTERM)
    signal.signal(signal.SIGTERM, on_sigterm)

  rc = 1
  try:
    # Inside the try: a SIGINT that arrives the moment the "start" line is written (it is
    # held while writing) still ends in the interrupt report and an "exit" line.
    events.start(argv)
    rc = dispatch(argv) or 0
  except SystemExit as ex:
    if ex.code is None:
      rc = 0
    elif isinstance(ex.code, int):
      rc = ex.code
    else:
      eprint(str(ex.code))
      rc = 1
  except KeyboardInterrupt:
    report_interrupt()
    rc = 1
  except BrokenPipeError:
    rc = 1
  except Exception:
    import traceback
    try:
      traceback.print_exc()
    except OSError:
      pass
    rc = 1
  try:
    sys.stdout.flush()
  except OSError:
    pass
  try:
    sys.stderr.flush()
  except OSError:
    pass
  events.exit(rc)
  return rc


def run():
  """Entry point of the launcher: runs main() and exits with its code."""
  code = main()
  try:
    sys.stdout.flush()
  except OSError:
    try:
      os.dup2(os.open(os.devnull, os.O_WRONLY), 1)   # avoid a second BrokenPipe report at exit
    except OSError:
      pass
  sys.exit(code)
