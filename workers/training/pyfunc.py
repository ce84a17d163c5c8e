"""The MLflow pyfunc wrapper: raw DataFrame in, labels (or values) out, preprocessing inside.

The pickle refers to this module and to workers.training.preprocess by name, and the network is a
torch Sequential of stock layers. `tracking.log_model` ships a copy of workers/training inside
the model (MLflow `code_paths`), so a notebook or serving host without the portal installed loads
it with mlflow, torch, numpy and pandas alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from mlflow.pyfunc import PythonModel

PREDICT_CHUNK = 65_536


class TabularTorchModel(PythonModel):
    def __init__(
        self,
        preprocessor,
        module: torch.nn.Module,
        *,
        task: str,
        target: str,
        classes: list | None,
        y_mean: float = 0.0,
        y_std: float = 1.0,
    ) -> None:
        self.preprocessor = preprocessor
        self.module = module.cpu().eval()
        self.task = task
        self.target = target
        self.classes = classes
        self.y_mean = y_mean
        self.y_std = y_std

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.Series:
        """Class labels (classification) or floats (regression), one per input row, as a
        Series named after the target."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        x = torch.from_numpy(self.preprocessor.transform(frame))
        self.module.eval()
        with torch.inference_mode():
            out = [self.module(x[i : i + PREDICT_CHUNK]) for i in range(0, len(x), PREDICT_CHUNK)]
            out = torch.cat(out) if out else torch.zeros((0, 1))
        if self.task == "classification":
            labels = np.empty(len(self.classes), dtype=object)
            labels[:] = self.classes
            picked = labels[out.argmax(dim=1).numpy()] if len(x) else labels[:0]
            # infer_objects: int and bool labels come back as int64/bool columns, text as object.
            return pd.Series(picked, name=self.target, index=frame.index).infer_objects()
        values = out[:, 0].double().numpy() * self.y_std + self.y_mean
        return pd.Series(values, name=self.target, index=frame.index)
