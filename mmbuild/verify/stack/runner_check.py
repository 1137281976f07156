"""A checkpoint saved by the package's own Runner, loaded back: resume after one tiny iteration.

Runs inside the target Python. mmengine's Runner trains the package's check model for one
iteration on a two-sample in-memory dataset and saves ``iter_1.pth`` (model, optimizer, message
hub with its HistoryBuffers, meta); a second Runner resumes from it and trains one more iteration.
This is the path that ``resume=True`` and fine-tuning from a saved checkpoint take. The first
Runner trains the model the step checks built; the second builds a fresh one from the config,
resumes (model, optimizer, iteration) and stops there: its weights must equal the saved ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmbuild.verify.stack import models
from mmbuild.verify.stack.packages import StackModel


class _Samples:
    """A map-style dataset of ready-made samples (what a package's pipeline would produce)."""

    def __init__(self, samples: list[dict[str, Any]]):
        self.samples = samples
        self.metainfo: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.samples[index]


def _loader(model: StackModel, seed: int):
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    data = models.batch(model, seed, train=True)
    samples = [{"inputs": i, "data_samples": s} for i, s in zip(data["inputs"], data["data_samples"])]
    return DataLoader(_Samples(samples), batch_size=2, collate_fn=pseudo_collate)


def _runner(model: StackModel, module, work_dir: Path, seed: int, name: str, resume_from: Path | None):
    from mmengine.runner import Runner

    return Runner(
        model=module if module is not None else models.model_config(model), work_dir=str(work_dir),
        experiment_name=name, train_dataloader=_loader(model, seed),
        train_cfg={"type": "IterBasedTrainLoop", "max_iters": 1},
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 1e-4}},  # no momentum: half the file
        default_hooks={"checkpoint": {"type": "CheckpointHook", "interval": 1, "by_epoch": False},
                       "logger": {"type": "LoggerHook", "interval": 1}},
        default_scope=model.scope, log_level="ERROR",
        load_from=str(resume_from) if resume_from else None, resume=resume_from is not None,
        env_cfg={"cudnn_benchmark": False, "dist_cfg": {"backend": "gloo"}},
        randomness={"seed": seed},
    )


def _same_weights(first, second) -> bool:
    import torch

    theirs = dict(second.named_parameters())
    return all(name in theirs and torch.equal(p.detach().cpu(), theirs[name].detach().cpu())
               for name, p in first.named_parameters())


def save_and_resume(model: StackModel, module, work_dir: Path, seed: int) -> tuple[str, str, dict[str, Any]]:
    """(status, message, data): ``module`` trained 1 iteration and saved; a new Runner resumes from it."""
    first = _runner(model, module, work_dir / "save", seed, f"{model.module}-save", None)
    first.train()
    saved = work_dir / "save" / "iter_1.pth"
    if not saved.is_file():
        return "fail", f"the Runner saved no checkpoint at {saved.name}", {}
    second = _runner(model, None, work_dir / "resume", seed, f"{model.module}-resume", saved)
    second.train()
    size_mb = saved.stat().st_size / 2**20
    data = {"checkpoint_mib": round(size_mb, 1), "resumed_iter": second.iter}
    if second.iter != 1:
        return "fail", f"resumed from {saved.name} at iteration {second.iter}, not 1", data
    if not _same_weights(first.model, second.model):
        return "fail", f"resumed from {saved.name}, but the weights differ from the saved ones", data
    return ("pass", f"Runner saved {saved.name} ({size_mb:.0f} MiB) after 1 training iteration; a new "
                    "Runner resumed from it at iteration 1 with the same weights", data)
