"""Hosting in the NDC and DR: a ministry's request → an engineer's approval → racks, power,
VLANs, prefixes and ToR ports in the inventory → the gateways configured with Ansible.

| module | job |
|---|---|
| ``request`` | the request form: validated, bounded, cleaned text; inventory checks (pure) |
| ``occupancy`` | what is taken and free per data centre, rack, pool, VLAN range (pure) |
| ``planner`` | request + inventory → new allocations, or what is short (pure) |
| ``capacity`` | capacity report and Prometheus gauges (pure) |
| ``states`` | the request's states and allowed steps (pure) |
| ``hostingfile`` | ``hosting.yaml`` edited as text: append, remove, atomic write |
| ``workspace`` | the hosting lock (fcntl), validated inventory snapshots and their cache |
| ``store`` | requests, allocations ever made, every step with who/when/why (``controller.store``) |
| ``service`` | submit / approve / reject / free: the lock → read → plan → write → commit |
| ``provision`` | the gateways and the extra vars of the playbooks; runs them (controller.ansible) |
| ``workflow`` | provision and decommission: a playbook run between two recorded steps |

Conventions:

- a service must already be one of the tenant's services in the inventory (the inventory
  check refuses allocations for unknown services; new services are added to ``tenants``
  by an engineer first);
- a data centre's hosting prefixes come from the pool ``hosting-<code>`` (``hosting-ndc``,
  ``hosting-dr``, ``use: hosting``), its VLANs from ``pools.vlans.hosting-<code>`` or
  ``pools.vlans.hosting``; ``site: ndc`` is the data centre with ``role: primary``,
  ``dr`` the one with ``role: dr``;
- a request for *k* VLANs becomes *k* adjacent allocations in one rack; ``site: both``
  adds a DR mirror of each (``mirror_of``), on the same VLAN number when free at DR;
- allocation ids (``h-0007``) are never reused, even after a decommission;
- a request that does not fit stays ``submitted``; the refusal (what is short) is recorded.
"""
