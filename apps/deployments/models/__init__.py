from apps.deployments.models.deployments import Deployment, Environment, Revision, Strategy
from apps.deployments.models.predictions import PredictionLog

__all__ = ["Deployment", "Environment", "PredictionLog", "Revision", "Strategy"]
