"""advocacy-bot: Telegram alerts on forced repatriation of North Koreans."""

__version__ = "0.1.0"
