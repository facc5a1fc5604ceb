"""Ansible on the server side: govnet inventory → Ansible inventory → ansible-runner.

| module | job |
|---|---|
| ``playbooks`` | ``playbooks/*.yml``: list, find by name |
| ``inventory`` | the Ansible inventory of the selected devices (secrets as lookups) |
| ``lab`` | a running namespace lab: namespace, lab dir, the Ansible login |
| ``plan`` | request → :class:`~controller.ansible.runner.RunSpec` |
| ``preflight`` | pinned SSH host keys (trust on first use only when asked) |
| ``events`` | ansible-runner events → per-host results (pure) |
| ``scrub`` | secret values off the disk of a run |
| ``runner`` | private data dir, ansible-runner in the lab namespace, audit |
"""

from controller.ansible.errors import PlaybookError, UnknownPlaybookError
from controller.ansible.events import HostResult, TaskEvent
from controller.ansible.playbooks import Playbook, find_playbook, list_playbooks
from controller.ansible.runner import PlaybookRun, RunSpec, run_playbook

__all__ = [
    "HostResult",
    "Playbook",
    "PlaybookError",
    "PlaybookRun",
    "RunSpec",
    "TaskEvent",
    "UnknownPlaybookError",
    "find_playbook",
    "list_playbooks",
    "run_playbook",
]
