"""The peer for bench/provision.py: the push an engineer would write with Nornir and
nornir-netmiko — the same commands on the same routers, `--workers` threads, then save;
no backup, no verification. Run as a whole process (inside the lab's management
namespace, where the routers' SSH addresses are); prints one JSON line of results.

    python bench/nornir_push.py HOSTS.json --workers 16
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hosts", type=Path, help="name -> host, port, username, password, …")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()

    from nornir.core import Nornir
    from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
    from nornir.core.plugins.connections import ConnectionPluginRegister
    from nornir.core.task import Result, Task
    from nornir.plugins.runners import ThreadedRunner
    from nornir_netmiko.tasks import netmiko_save_config, netmiko_send_config

    ConnectionPluginRegister.auto_register()  # what InitNornir does: the netmiko plugin
    spec: dict[str, dict[str, Any]] = json.loads(args.hosts.read_text(encoding="utf-8"))
    hosts = Hosts()
    for name, h in spec.items():
        hosts[name] = Host(
            name=name,
            hostname=h["host"],
            port=h["port"],
            username=h["username"],
            password=h["password"],
            platform=h["device_type"],
            data={"commands": h["commands"]},
            connection_options={"netmiko": ConnectionOptions(extras={"fast_cli": True})},
        )
    inventory = Inventory(hosts=hosts, groups=Groups(), defaults=Defaults())
    nr = Nornir(inventory=inventory, runner=ThreadedRunner(num_workers=args.workers))

    def push(task: Task) -> Result:
        task.run(task=netmiko_send_config, config_commands=task.host.data["commands"])
        task.run(task=netmiko_save_config)
        return Result(host=task.host)

    result = nr.run(task=push)
    failed = {
        name: " | ".join(str(sub.result).strip().splitlines()[-1] for sub in r[1:] if sub.failed)
        for name, r in result.failed_hosts.items()
    }
    print(json.dumps({"hosts": len(spec), "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
