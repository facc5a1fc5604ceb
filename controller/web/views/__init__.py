"""Pure data shaping for the pages: Alertmanager/Prometheus answers → what templates show."""
