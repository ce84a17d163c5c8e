from apps.core.models.audit import AuditEvent
from apps.core.models.jobs import Job, JobStatus
from apps.core.models.projects import Membership, Project, Role
from apps.core.models.tokens import ApiToken

__all__ = ["ApiToken", "AuditEvent", "Job", "JobStatus", "Membership", "Project", "Role"]
