"""The probe stage: the only part of mmbuild that reads the machine.

:func:`probe_environment` gathers every fact of the Environment (schema 1). Each
source of facts has its own module with pure parse functions (text in, data out)
and a thin reader around them; a source that fails gives a degraded field and a
finding, never an exception.
"""

from mmbuild.probe.collect import probe_environment

__all__ = ["probe_environment"]
