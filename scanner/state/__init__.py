"""Run history and finding state (``--state``): change labels, `keyaudit history` and `keyaudit diff`.

Only imported when a run uses a state store; SQLAlchemy and Alembic load then, not before.
"""
