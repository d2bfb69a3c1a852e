"""Saved report schedules: when they run (cron.py), what dates they cover
(ranges.py), and the beat tick that turns due slots into report jobs."""
