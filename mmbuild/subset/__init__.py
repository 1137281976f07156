"""Subset builds: compile only the sources a list of mmcv ops needs.

``apply_subset(tree, ["nms", "roi_align"], target="cpu")`` runs on the extracted,
patched mmcv source before building. It indexes the op sources by symbol
(:mod:`.index`), takes the closure the ops need (:mod:`.select`), deletes the
other sources and regenerates the bindings (:mod:`.bindings`), so that
``import mmcv.ops`` still works and an op that was left out raises an error
naming the command that builds it.
"""

from mmbuild.subset.apply import SubsetResult, apply_subset, normalise_ops
from mmbuild.subset.index import index_tree

__all__ = ["SubsetResult", "apply_subset", "index_tree", "normalise_ops"]
