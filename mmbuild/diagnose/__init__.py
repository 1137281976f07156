"""Known problems: the catalogue, and recognising them in logs (``mmbuild diagnose``)."""

from mmbuild.diagnose.catalogue import Problem, Signature, get_problem, load_catalogue
from mmbuild.diagnose.diagnosis import (
    Diagnosis,
    Match,
    classify,
    diagnose_file,
    diagnose_stream,
    diagnose_text,
)

__all__ = [
    "Diagnosis",
    "Match",
    "Problem",
    "Signature",
    "classify",
    "diagnose_file",
    "diagnose_stream",
    "diagnose_text",
    "get_problem",
    "load_catalogue",
]
