"""Fixtures of the netlab-sim e2e suite (helpers: sim_harness.py)."""
import os

import pytest

from sim_harness import SIM, Sim


@pytest.fixture
def sim(tmp_path):
  assert SIM.is_file() and os.access(SIM, os.X_OK), f'{SIM} missing: build the netlab-sim target'
  return Sim(tmp_path)


@pytest.fixture
def running_lab(sim):
  d = sim.labdir()
  sim.ok('up', cwd=d)
  return d
