"""Stack checks: the downstream packages (mmdet, mmsegmentation, mmpretrain, mmaction2) really run.

For every one installed in the target Python: its bounds on mmcv and mmengine hold, it imports,
one model from its own bundled configs runs an inference and a training step on every device
(through mmcv's ops), and a checkpoint its Runner saved is resumed. ``mmbuild verify`` runs them
(``--no-stack`` skips them); the install pipeline calls :func:`run_stack_checks`.
"""

from mmbuild.verify.stack.packages import STACK_MODELS, model_for, stack_ops
from mmbuild.verify.stack.supervisor import run_stack_checks

__all__ = ["STACK_MODELS", "model_for", "run_stack_checks", "stack_ops"]
