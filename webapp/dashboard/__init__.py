"""The dashboard (/dashboard): the landing page after log-in."""
