"""Frame-to-frame identity tracking for models without identity heads."""
