"""The training loop: mini-batch descent over pre-built tensors, one validation pass and one
host sync per epoch, early stopping on validation loss with the best weights kept.

Per-batch work is only what the bare loop does plus one `should_stop()` call: batches are slices
of tensors already on the device, the batch losses stay on the device until the epoch ends, and
everything that talks to the outside world (MLflow, progress) happens in `end_epoch`, once per
epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from workers.training import metrics
from workers.training.errors import TrainingError

EVAL_CHUNK = 65_536  # rows per validation forward pass: bounded memory, few kernel launches
# Early stopping counts an epoch as better only if it beats the best validation loss by this
# relative margin (ReduceLROnPlateau's default), so float noise on a plateau is not progress.
MIN_RELATIVE_IMPROVEMENT = 1e-4


@dataclass
class Tensors:
    x_train: torch.Tensor
    y_train: torch.Tensor  # class codes (int64) or standardised targets (float32)
    x_val: torch.Tensor
    y_val: torch.Tensor
    y_val_raw: np.ndarray  # class codes or targets in their own units, for the metrics
    y_mean: float = 0.0  # regression targets are trained standardised; predictions undo it
    y_std: float = 1.0


@dataclass
class LoopResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    cancelled: bool = False

    @property
    def best(self) -> dict:
        return self.history[self.best_epoch - 1] if self.best_epoch else {}


def make_optimizer(module: torch.nn.Module, params: dict) -> torch.optim.Optimizer:
    lr, decay = params["learning_rate"], params["weight_decay"]
    if params["optimizer"] == "sgd":
        return torch.optim.SGD(module.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
    if params["optimizer"] == "adamw":
        return torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=decay)
    return torch.optim.Adam(module.parameters(), lr=lr, weight_decay=decay)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    # Batch norm cannot normalise a single row; a trailing batch of one is skipped (the
    # shuffle puts a different row there each epoch).
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds.pop()
    return bounds


def fit(
    module: torch.nn.Module,
    data: Tensors,
    *,
    task: str,
    params: dict,
    should_stop: Callable[[], bool],
    end_epoch: Callable[[dict], None],
) -> LoopResult:
    """Trains `module` in place and leaves it holding the best epoch's weights."""
    classify = task == "classification"
    loss_fn = F.cross_entropy if classify else _mse
    optimizer = make_optimizer(module, params)
    epochs, patience = params["epochs"], params["early_stopping_patience"]
    n = data.x_train.shape[0]
    bounds = batch_bounds(n, params["batch_size"])
    seen = bounds[-1][1]
    sizes = torch.tensor([end - start for start, end in bounds], dtype=torch.float32)
    sizes = sizes.to(data.x_train.device)
    generator = torch.Generator().manual_seed(params["seed"])
    result = LoopResult()
    best_loss, best_state, stale = math.inf, None, 0

    for epoch in range(1, epochs + 1):
        module.train()
        order = torch.randperm(n, generator=generator).to(data.x_train.device)
        losses = []
        for start, end in bounds:
            if should_stop():
                result.cancelled = True
                break
            rows = order[start:end]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(module(data.x_train[rows]), data.y_train[rows])
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        if result.cancelled:
            break
        # The one host sync of the epoch's training phase.
        train_loss = float((torch.stack(losses) * sizes).sum() / seen)
        if not math.isfinite(train_loss):
            raise TrainingError(
                f"Training diverged at epoch {epoch} (the loss is not a number); "
                f"try a lower learning rate."
            )
        entry = {"epoch": epoch, "train_loss": train_loss, **evaluate(module, data, task)}
        result.history.append(entry)
        if best_state is None or entry["val_loss"] < best_loss * (1 - MIN_RELATIVE_IMPROVEMENT):
            best_loss, stale, result.best_epoch = entry["val_loss"], 0, epoch
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            stale += 1
        end_epoch(entry)
        if patience and stale >= patience:
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return result


def evaluate(module: torch.nn.Module, data: Tensors, task: str) -> dict[str, float]:
    """val_loss (the training objective) and the task metrics on the validation split."""
    was_training = module.training
    module.eval()
    with torch.inference_mode():
        out = torch.cat(
            [
                module(data.x_val[start : start + EVAL_CHUNK])
                for start in range(0, data.x_val.shape[0], EVAL_CHUNK)
            ]
        )
        if task == "classification":
            val_loss = float(F.cross_entropy(out, data.y_val))
            proba = torch.softmax(out.double(), dim=1).cpu().numpy()
            scores = metrics.classification(data.y_val_raw, proba)
        else:
            val_loss = float(_mse(out, data.y_val))
            predicted = out[:, 0].double().cpu().numpy() * data.y_std + data.y_mean
            scores = metrics.regression(data.y_val_raw, predicted)
    module.train(was_training)
    if not math.isfinite(val_loss):
        raise TrainingError("The validation loss is not a number; try a lower learning rate.")
    return {"val_loss": val_loss, **scores}


def _mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out[:, 0], target)
