"""Management commands (``commands/``) and what they share: opening a storage, progress, durations."""
