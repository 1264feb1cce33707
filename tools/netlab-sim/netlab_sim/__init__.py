# netlab_sim: the netlab CLI simulator (see docs/internals/netlab-sim.md).
#
# The package is laid out by concern; the launcher (tools/netlab-sim/netlab-sim) calls main.run().
#
#   log.py        netlab's message formats (fatal, error, warning, info) and the process State
#   util.py       YAML, dictionaries with dotted keys, names, files
#   knobs.py      FAKE_NETLAB_* test knobs, per-topology knobs
#   eventlog.py   the FAKE_NETLAB_LOG JSON-lines invocation log
#   devices.py    device and provider data extracted from netlab 26.03
#   box.py        the Box-like classes inspect expressions see
#   augment_devices.py, outputs_common.py
#                 netlab's netsim.augment.devices / netsim.outputs.common functions (the latter is
#                 importable as netsim.outputs.common inside inspect expressions)
#   transform.py, links.py, multilab.py
#                 the part of the topology transformation a server can observe
#   outputs.py    files written by `netlab create` (node_files, clab.yml, Vagrantfile, ...)
#   ansible.py    the Ansible inventory (hosts.yml, group_vars, host_vars, ansible.cfg)
#   snapshot.py   netlab.snapshot.pickle, -i/--instance
#   registry.py   $HOME/.netlab/status.yaml and its lock
#   runner.py     the simulated external commands (containerlab, vagrant, ansible)
#   cli.py        argparse parsers shared by several commands
#   cmd_*.py      one module per netlab command
#   main.py       dispatcher, signals, exit codes
