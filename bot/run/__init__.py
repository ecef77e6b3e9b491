"""The process: start-up, signals and reload (process), the scheduled jobs that only tick (jobs), admin reports."""
