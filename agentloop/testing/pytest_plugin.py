"""pytest plugin: emulator fixtures (filled in by the emulator work)."""
