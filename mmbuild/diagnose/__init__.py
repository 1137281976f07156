"""Recognising the known problems of mmbuild/knowledge/problems.py in logs (``mmbuild diagnose``)."""

from mmbuild.diagnose.diagnosis import (
    Diagnosis,
    Match,
    classify,
    diagnose_file,
    diagnose_stream,
    diagnose_text,
)
from mmbuild.knowledge.problems import Problem, Signature, get_problem, load_catalogue

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
