"""Many sites: the configuration file that names them (the wiring lives in scanner.cli.fleet)."""
