# Process state and messages, formatted the way netlab prints them when stdout/stderr are not
# terminals (netsim/utils/log.py, netsim/cli/__init__.py error_and_exit).
import sys
import textwrap

NETLAB_VERSION = '26.03'
SNAPSHOT = 'netlab.snapshot.pickle'
LOCK_FILE = 'netlab.lock'
CLAB_VERSION = '0.72.0'


class State:
  """Process-wide state (the real netlab keeps the same things in module globals)."""
  cmd = ''                          # sub-command being executed ('up', 'down', ...)
  quiet = False                     # -q given
  dry_run = False                   # --dry-run given
  log_commands = False              # external commands are logged into the status file
  error_count = 0                   # errors reported so far (log.exit_on_error)
  header_printed = False            # "Errors encountered while processing X" already printed
  topo_file = None                  # basename of the topology file being transformed
  topo = None                       # current (transformed) topology, for interrupt logging
  knobs = {}                        # effective test knobs (knobs.py)
  events = None                     # eventlog.EventLog


def eprint(text=''):
  print(text, file=sys.stderr, flush=True)


def print_hints(hints):
  if hints is None:
    return
  if isinstance(hints, str):
    hints = textwrap.wrap(hints, width=80) or ['']
  for line in hints:
    if line:
      eprint(f'... {line}')


def fatal(text, module='netlab'):
  """log.fatal: 'Fatal error in <module>: <text>' on stderr, exit 1."""
  eprint(f'Fatal error in {module}: {text}')
  raise SystemExit(1)


def error(text, category='UserWarning', module='topology', hints=None, more_data=None,
          header=True):
  """log.error with the plain-text (non-TTY) rendering. module '-' prints no module; an empty
  module is 'topology' (log.get_calling_module)."""
  module = '' if module == '-' else (module or 'topology')
  if category == 'Warning':
    if State.quiet:
      return
  else:
    State.error_count += 1
    if header and not State.header_printed and State.topo_file:
      eprint(f'Errors encountered while processing {State.topo_file}')
    State.header_printed = True
  eprint(f'{category} in {module}: {text}' if module else f'{category}: {text}')
  print_hints(more_data)
  print_hints(hints)


def warning(text, module, hints=None, more_data=None):
  error(text, category='Warning', module=module, hints=hints, more_data=more_data)


def error_and_exit(text, module=None, hints=None):
  """cli.error_and_exit: 'FatalError in <command>: <text>' plus hints, exit 1."""
  error(text, category='FatalError', module=module if module is not None else State.cmd,
        hints=hints, header=False)
  raise SystemExit(1)


def exit_on_error():
  if State.error_count:
    fatal('Cannot proceed beyond this point due to errors, exiting')


def info(text):
  if not State.quiet:
    print(f' [INFO] {text}', flush=True)


def section_header(label, text):
  print(f'{label} {text}', flush=True)


def extra_data_printout(text, width=90):
  return '\n'.join(textwrap.wrap(text, width=width, initial_indent='... ', subsequent_indent='    '))


INTERRUPT_HINT = (
  "Use 'netlab status' command to display the status of your lab and 'netlab down --cleanup' "
  "command to clean it up. You might have to use the '--force' option of the 'netlab down' command.")
