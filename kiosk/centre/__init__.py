"""The centre's side of a fleet: read what the booths uploaded to a tus server's store (S3 or a directory) and report,
per booth, what arrived, whether it is complete and verified, and what a booth holds that has not arrived."""
