"""Workspaces: a company's shared orders, reports and schedules, its members
with their roles, invitations, settings and audit trail."""
