"""govnet probes: SNMP/ICMP polling and the Prometheus exporter."""
