"""Delivery: drain the outbox at Telegram's pace, edit alerts as stories grow, send the daily digests."""
