"""Sub-commands of `kiosk`; one module each, registered in kiosk.cli.COMMAND_MODULES."""
