"""Views: each parses the request, calls one selector, and renders (HackSoft style)."""
