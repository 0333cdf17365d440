"""A throwaway one-node Slurm cluster for the test suite (Debian's ``slurm-wlm`` and ``munge``).

``SlurmCluster`` writes a ``slurm.conf`` into a temporary folder and starts munged (own key and
socket), slurmctld and slurmd on free loopback ports, as ``/work/shared/local-services.md``
describes; ``env`` is what a client (``sbatch``, a worker daemon) needs to reach it
(``SLURM_CONF``). ``unavailable_reason()`` says why a cluster cannot be started here, for a
clear skip. No cgroups and no accounting (``sacct`` is off): the executor must work from
``squeue`` and ``scontrol`` alone, as on a cluster whose accounting is down.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


def unavailable_reason() -> str | None:
    """None when a cluster can be started here, else why not."""
    missing = [name for name in _NEEDED if shutil.which(name) is None
               and not Path("/usr/sbin", name).exists()]
    if missing:
        return f"Slurm/munge not installed ({', '.join(missing)}): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "the one-node test cluster runs slurmd as root (SlurmdUser=root)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


class SlurmCluster:
    """munged + slurmctld + slurmd, everything under ``root``; ``stop()`` ends them."""

    partition = "debug"

    def __init__(self, min_job_age: int = 300) -> None:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.root = Path(tempfile.mkdtemp(prefix="nwbscope-slurm-"))
        self.host = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        self.memory_mb = _memory_mb()
        self.min_job_age = min_job_age
        self.conf = self.root / "slurm.conf"
        self._pid_files: list[Path] = []

    @property
    def socket(self) -> Path:
        return self.root / "run" / "munge.sock"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def _write_config(self) -> None:
        munge = self.root / "munge"
        munge.mkdir(mode=0o700)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.root.chmod(0o755)  # munged wants its socket's folders open to all (execute)
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir()
        (self.root / "run").mkdir(mode=0o755)
        r = self.root
        lines = [
            "ClusterName=nwbscope-test",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge",
            f"AuthInfo=socket={self.socket}",
            "CredType=cred/munge",
            "SlurmUser=root",
            "SlurmdUser=root",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2",
            "MpiDefault=none",
            f"MinJobAge={self.min_job_age}",
            "KillWait=5",
            "InactiveLimit=0",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} "
            f"RealMemory={self.memory_mb} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={self.host} Default=YES MaxTime=INFINITE "
            "State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 30.0) -> SlurmCluster:
        self._write_config()
        munge = self.root / "munge"
        subprocess.run(
            [_binary("munged"), f"--key-file={munge / 'munge.key'}",
             f"--socket={self.socket}", f"--pid-file={munge / 'munged.pid'}",
             f"--log-file={munge / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}"],
            check=True, capture_output=True, timeout=20)
        self._pid_files.append(munge / "munged.pid")
        for daemon, pid in (("slurmctld", "slurmctld.pid"), ("slurmd", "slurmd.pid")):
            subprocess.run([_binary(daemon), "-f", str(self.conf)], check=True,
                           capture_output=True, env=self.env, timeout=20)
            self._pid_files.insert(0, self.root / pid)  # stopped before munged
        deadline = time.monotonic() + timeout
        while True:
            state = self.node_state()
            if state.startswith("idle"):
                return self
            if time.monotonic() > deadline:
                logs = "\n".join(p.read_text()[-1500:] for p in (self.root / "log").glob("*"))
                self.stop()
                raise RuntimeError(f"the Slurm node did not come up (state {state!r}):\n{logs}")
            time.sleep(0.5)

    def node_state(self) -> str:
        answer = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True,
                                text=True, env=self.env, timeout=20)
        return answer.stdout.strip()

    def run(self, *command: str) -> str:
        """Run a Slurm client command against this cluster; its stdout."""
        return subprocess.run(list(command), check=True, capture_output=True, text=True,
                              env=self.env, timeout=30).stdout

    def stop(self) -> None:
        for pid_file in self._pid_files:
            try:
                pid = int(pid_file.read_text().strip())
            except (FileNotFoundError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._pid_files.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _memory_mb() -> int:
    """Most of this machine's memory, in MB (Slurm refuses a node that has less than it says)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return max(1024, int(line.split()[1]) // 1024 - 1024)
    return 4096
