"""Every message the bot writes, as Telegram HTML in the reader's language: pure functions of records.

One module per kind: view (who reads), wording (dates, numbers, facts, action templates in the reader's
language), pieces (lines the messages share), alert, story (follow-up note, full story, sources, action
card), lists (digest, story lists, /actions), commands (a chat's own commands), health (/sources, /status,
/reload). Escaping, UTF-16 lengths and packing are bot.telegram.html; buttons are bot.telegram.callbacks.

A `View` says who reads: their language (a bot.i18n Translator), their time zone, and the topic and action
names of feeds.yaml in that language. The bot's own words come from the gettext catalogues; feed text
(titles, summaries, outlet names) stays as the outlet wrote it, cleaned and escaped (bot.telegram.html).
Buttons are plain `Button` records (bot.telegram.callbacks); the sender turns them into a keyboard.

An alert is sized for a phone: at most ALERT_VISIBLE characters a reader sees (title, one facts line, a
summary of one or two sentences, the outlets, the story's command), with the actions as buttons that open
their cards. The full story, the sources and the action cards are messages of their own.
"""
