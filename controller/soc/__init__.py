"""The SOC back end: Prometheus and Alertmanager configured from the inventory and run as
supervised processes on loopback (``govnet soc up|down|status``).

Modules, one job each:

- ``settings``  — what the operator chose (ports, intervals, retention, probe shards), validated
- ``config``    — pure: settings → prometheus.yml, file_sd targets
- ``info``      — pure: inventory → textfile series (device and link info) the rules join on
- ``textfile``  — a tiny exporter serving ``*.prom`` files (drift, inventory info)
- ``procs``     — start a process, pid files, stop only a PID we started
- ``stack``     — up/down/status of the three components, with readiness and reloads
- ``drill``     — the fault → alert → resolve loop used by the lab test, bench and demo
"""
