"""The functional faults on an app's PostgreSQL store (AIOpsLab's database faults), for the registry."""

from __future__ import annotations

from remedlab.chaos.functional import revoke_auth, tls_required, user_unregistered
from remedlab.chaos.functional.action import FunctionalAction

DATABASE_ACTIONS: tuple[FunctionalAction, ...] = (revoke_auth.ACTION, user_unregistered.ACTION, tls_required.ACTION)
