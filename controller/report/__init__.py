"""Reports computed from the SOC's store: monthly SLA per ministry and per province."""
