"""Export sessions as BagIt bags: the engine (bagit), where a bag can go (targets), and the database side (service)."""

from kiosk.export.bag import (BAG_PREFIX, ExportCancelled, ExportError, ExportFile, ExportProgress, ExportResult,
                                ExportSession, export_bag, safe_component, verify_bag)
from kiosk.export.service import export_sessions, parse_date, select_interviews, to_export_session
from kiosk.export.targets import FAT_MAX_FILE, Target, fat_limit_problem, filesystem_type, parse_mounts, removable_targets

__all__ = ["BAG_PREFIX", "ExportCancelled", "ExportError", "ExportFile", "ExportProgress", "ExportResult",
           "ExportSession", "FAT_MAX_FILE", "Target", "export_bag", "export_sessions", "fat_limit_problem",
           "filesystem_type", "parse_date", "parse_mounts", "removable_targets", "safe_component",
           "select_interviews", "to_export_session", "verify_bag"]
