"""OCenter: data and dashboards of the BPOM Operational Center (SOP POM-09.01/CFM.02/SOP.06)."""

__version__ = "0.1.0"
