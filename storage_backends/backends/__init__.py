"""The backends shipped with the library; each module is imported only when used."""
