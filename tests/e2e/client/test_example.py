"""The installed client (cmake --install) and the C example built against it with pkg-config."""
import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import build_dir, check_sanitizer, source_dir, TOPOLOGY


def sanitized_build():
    cache = (build_dir() / "CMakeCache.txt").read_text()
    return re.search(r"^RL_SANITIZE:BOOL=(ON|1|TRUE)$", cache, re.M) is not None


def install(prefix):
    subprocess.run(["cmake", "--install", str(build_dir()), "--prefix", str(prefix), "--component", "client"],
                   check=True, capture_output=True, text=True)


def test_install_layout(tmp_path):
    prefix = tmp_path / "prefix"
    install(prefix)
    for rel in ("bin/labctl", "include/remotelab.h", "lib/libremotelab.a", "lib/libremotelab.so.1",
                "lib/pkgconfig/remotelab.pc", "share/man/man1/labctl.1"):
        assert (prefix / rel).exists(), rel
    assert os.path.realpath(prefix / "lib/libremotelab.so").endswith("libremotelab.so.1.1.0")
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib/pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "remotelab"], env=env, check=True,
                           capture_output=True, text=True).stdout
    assert "-lremotelab" in flags and "include" in flags
    # the installed labctl finds the installed library (RPATH $ORIGIN/../lib)
    v = subprocess.run([str(prefix / "bin/labctl"), "--version"], capture_output=True, text=True, env=env)
    assert v.returncode == 0 and "libremotelab" in v.stdout
    # only rl_* symbols are exported
    syms = subprocess.run(["nm", "-D", "--defined-only", str(prefix / "lib/libremotelab.so")],
                          capture_output=True, text=True, check=True).stdout.split("\n")
    names = [l.split()[-1] for l in syms if l.strip()]
    assert names and all(n.startswith("rl_") for n in names), [n for n in names if not n.startswith("rl_")]


def build_example(tmp_path, target="lab-devices"):
    prefix = tmp_path / "prefix"
    if not prefix.exists():
        install(prefix)
    src = tmp_path / "example"
    if not src.exists():
        shutil.copytree(source_dir() / "examples" / "client", src)
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib/pkgconfig"))
    args = ["make", "-C", str(src), target]
    if sanitized_build():  # an ASan library needs an ASan program
        args += ["CFLAGS=-O1 -g -fsanitize=address,undefined", "LDFLAGS=-fsanitize=address,undefined"]
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return src / target


def test_example_against_server(server, tmp_path):
    for target in ("lab-devices", "lab-devices-static"):
        exe = build_example(tmp_path, target)
        work = tmp_path / ("work-" + target)
        (work / "configs").mkdir(parents=True)
        (work / "topo.yml").write_text(TOPOLOGY)
        (work / "configs" / "r1.cfg").write_text("hostname r1\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("REMOTE_LAB_")}
        env["REMOTE_LAB_URL"] = server.url
        r = subprocess.run([str(exe), "topo.yml", "configs/r1.cfg"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)
        check_sanitizer(r.stderr)
        assert r.returncode == 0, r.stdout + r.stderr
        m = re.search(r"^(\d+) devices", r.stdout, re.M)
        assert m and int(m.group(1)) >= 1, r.stdout
        sid = re.search(r"^session (\S+)", r.stdout, re.M).group(1)
        # the example ended its session
        st = subprocess.run([str(build_dir() / "bin" / "labctl"), "--url", server.url, "session", "status", sid],
                            capture_output=True, text=True)
        assert st.returncode == 6, st.stdout + st.stderr
