"""The stress suite uses the lab-manager harness (../lib/labd_harness.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
