"""The PySide6 kiosk: screens and widgets that observe kiosk/ and call it; no business rules here."""
