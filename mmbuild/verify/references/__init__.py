"""Pure-PyTorch references for mmcv's ops, written from the ops' definitions.

They favour clarity over speed (small inputs, float64) and are differentiable
where the op is, so a kernel's gradients can be checked against autograd.
"""
