"""One widget per flow state; each draws itself from a kiosk.flow.Snapshot and sends inputs back to the runner."""
