"""Admin console widgets: PinPad (ui/admin/pin_pad.py) and AdminConsole (ui/admin/console.py), hosted by the app."""
