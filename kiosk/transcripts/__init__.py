"""Offline transcripts: each answer of a finished interview transcribed on the kiosk, at idle priority.

engine.py (the Transcriber interface, the engine registry, audio decoding), whisper.py (faster-whisper), worker.py
(the engine in a child process at idle priority), chapters.py (what to transcribe: a recording's chapters),
vtt.py (WebVTT captions and chapters), summary.py (figures per question), jobs.py (the background queue, state in
the database), search.py (FTS5 search by words).
"""
