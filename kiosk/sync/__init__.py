"""Sync to a central tus 1.0 server: `tus` talks to the server, `worker` drains the queue of SyncState rows."""
