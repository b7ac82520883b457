"""Due-date reminders by e-mail: schedule (which are due), templates, mail senders, the send
job and the preview."""
