# argparse parsers shared by several commands (same options, defaults and prog names as netlab's).
from .log import SNAPSHOT


def argparse_mod():
  import argparse
  return argparse


def common_args(parser, debugging=True):
  argparse = argparse_mod()
  parser.add_argument('--log', dest='logging', action='store_true', help='Enable basic logging')
  parser.add_argument('--warning', dest='warning', action='store_true', help=argparse.SUPPRESS)
  parser.add_argument('--raise_on_error', dest='raise_on_error', action='store_true',
                      help=argparse.SUPPRESS)
  parser.add_argument('-v', '--verbose', dest='verbose', action='count', default=0,
                      help='Verbose logging (add multiple flags for increased verbosity)')
  parser.add_argument('-q', '--quiet', dest='quiet', action='store_true',
                      help='Report only major errors')
  if debugging:
    parser.add_argument('--debug', dest='debug', action='store', nargs='*', help=argparse.SUPPRESS)
    parser.add_argument('--test', dest='test', action='store', nargs='*', choices=['errors'],
                        help=argparse.SUPPRESS)


def topology_args(parser):
  parser.add_argument('--defaults', dest='defaults', action='store', nargs='*',
                      help='Local topology defaults file')
  parser.add_argument('-d', '--device', dest='device', action='store', help='Default device type')
  parser.add_argument('-p', '--provider', dest='provider', action='store',
                      help='Override virtualization provider')
  parser.add_argument('--plugin', dest='plugin', action='append', help='Additional plugin(s)')
  parser.add_argument('-s', '--set', dest='settings', action='append',
                      help='Additional parameters added to topology file')


def up_extra_args(parser):
  argparse = argparse_mod()
  parser.add_argument('--no-config', dest='no_config', action='store_true',
                      help='Do not configure lab devices')
  parser.add_argument('-r', '--reload-config', dest='reload', action='store',
                      help='Reload saved configurations from specified directory')
  parser.add_argument('--no-tools', dest='no_tools', action='store_true',
                      help='Do not start the external tools')
  parser.add_argument('--dry-run', dest='dry_run', action='store_true',
                      help='Print the commands that would be executed, but do not execute them')
  parser.add_argument('--fast-config', dest='fast_config', action='store_true',
                      help='Use fast device configuration (Ansible strategy = free)')
  parser.add_argument('--snapshot', dest='snapshot', action='store', nargs='?',
                      const=SNAPSHOT, help='Use netlab snapshot file created by a previous lab run')
  parser.add_argument('--validate', dest='validate', action='store_true', help=argparse.SUPPRESS)


def create_parser(cmd, description, extra=None):
  argparse = argparse_mod()
  parser = argparse.ArgumentParser(prog=f'netlab {cmd}', description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  common_args(parser)
  topology_args(parser)
  if extra:
    extra(parser)
  parser.add_argument('--unlock', dest='unlock', action='store_true', help=argparse.SUPPRESS)
  parser.add_argument(dest='topology', action='store', nargs='?', default='topology.yml',
                      help='Topology file or URL (default: topology.yml)')
  if cmd == 'create':
    parser.add_argument('-o', '--output', dest='output', action='append',
                        help='Output format(s): format:option=filename')
    parser.add_argument('--devices', dest='devices', action='store_true',
                        help='Create provider configuration file and netlab-devices.yml')
  return parser
