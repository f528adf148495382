"""Cloud provider plugins. Each subpackage collects (thin SDK I/O) and normalises (pure) into scanner.inventory."""
