"""The composition root of the kiosk app: `kiosk [--demo] [--windowed]` with no sub-command lands in run()."""

from __future__ import annotations

import logging
import os
import signal
import sys

log = logging.getLogger("ui.app")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
START_REPAIR_BUDGET_S = 600      # under systemd: how long start-up recovery may take before the start times out


def display_problem(environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why Qt cannot show a window here, or None. Checked before QApplication, whose own abort is misleading."""
    if not platform.startswith("linux"):
        return None
    if environ.get("QT_QPA_PLATFORM") or environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("kiosk: there is no display to show the kiosk on (DISPLAY and WAYLAND_DISPLAY are not set). "
            "Fix: run it in the desktop session (or a systemd user unit with DISPLAY=:0), start an X server "
            "first (e.g. 'Xvfb :99 &' then 'DISPLAY=:99 kiosk'), or use a headless command such as 'kiosk record'.")


def build_services(args, ctx):
    """Database, session store, devices, recorder and the device watch. A demo source only when asked for (--demo,
    spec "demo"): a missing device makes the booth "not ready" (kiosk.capture.health), never a test pattern."""
    from kiosk import supervision
    from kiosk.admin_auth import for_database
    from kiosk.capture.demo import DemoCamera, DemoMicrophone
    from kiosk.capture.health import DeviceWatch, camera_needed
    from kiosk.capture.sources import open_camera, open_microphone
    from kiosk.db import db
    from kiosk.events import EventBus
    from kiosk.recorder import Recorder, RecorderSettings
    from kiosk.sessions import SessionStore
    from ui.services import AppServices

    config = ctx.config
    swept = ctx.data.sweep_tmp()          # device-check clips a stopped app left behind: a candidate's face and voice
    if swept:
        log.info("tmp folder swept at start: %d leftover file(s)", swept)
    bus = EventBus()
    settings = RecorderSettings.from_config(config)
    video = None
    if args.demo:
        video = DemoCamera(settings.size, settings.fps) if camera_needed(config) else None
        audio = DemoMicrophone(settings.audio_rate, settings.channels)
    else:
        if camera_needed(config):          # an audio-only booth opens no camera at all
            video = open_camera(config["camera.spec"], settings.size, settings.fps, config["camera.open_timeout_s"],
                                config["camera.read_timeout_s"])
        audio = open_microphone(config["mic.spec"], settings.audio_rate, settings.channels, wait_for_device=True)
    store = SessionStore.open(ctx.data, config)
    supervision.extend_start(START_REPAIR_BUDGET_S, "checking for recordings cut off by the last stop")
    report = store.recover_at_start()     # cut-off takes of a crash are repaired before anything records
    log.info("start-up recovery: %s", report.to_json())
    auth = for_database()
    sessions = flow_sessions(store, settings.profile)
    recorder = Recorder(video, audio, settings, bus)
    devices = DeviceWatch(config, recorder, bus, demo=args.demo,
                          camera_open=lambda: recorder.status()["camera"] != "released")
    return AppServices(ctx=ctx, bus=bus, store=store, db=db, recorder=recorder, sessions=sessions, auth=auth,
                       demo_badge=devices.state().demo_badge, devices=devices)


def flow_sessions(store, profile: str):
    """The flow's view of the session store (kiosk.flow.SessionsPort)."""
    from kiosk.sessions.flow_port import StoreSessions
    return StoreSessions(store, profile)


def install_translators(app, language: str) -> list:
    """The kiosk's own catalogue (resources/translations/kiosk_<lang>.qm) and Qt's; missing ones are fine."""
    from PySide6.QtCore import QLibraryInfo, QTranslator

    from kiosk.resources import resources_dir
    installed = []
    for name, folder in ((f"kiosk_{language}", str(resources_dir() / "translations")),
                         (f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))):
        translator = QTranslator(app)
        if translator.load(name, folder):
            app.installTranslator(translator)
            installed.append(translator)
    log.info("UI language %s: %d catalogue(s)", language, len(installed))
    return installed


def qt_application():
    """The process's one QApplication, named for the desktop (created on first call)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kiosk-interview-recorder")
    return app


def quit_on_signals(window) -> None:
    """SIGTERM/SIGINT (systemd stop, Ctrl+C in a terminal) ask `window` to quit from Qt's loop; a timer owned by the
    window lets Python run its signal handlers while that loop runs."""
    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGTERM, lambda *a: QTimer.singleShot(0, window.quit))
    signal.signal(signal.SIGINT, lambda *a: QTimer.singleShot(0, window.quit))
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def run(args, ctx) -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    from PySide6.QtCore import QLocale

    from ui.blanking import inhibit_blanking
    from ui.main_window import KioskWindow
    from ui.supervision import Supervision

    app = qt_application()
    install_translators(app, ctx.config["ui.language"] or QLocale.system().name().split("_")[0])
    try:
        services = build_services(args, ctx)
    except Exception as exc:
        log.exception("the kiosk could not start")
        print(f"kiosk: cannot start: {exc}", file=sys.stderr)
        return EXIT_FAILED
    services.recorder.open(with_camera=False)     # the camera opens when a candidate consents
    services.devices.start()
    kiosk_mode = bool(ctx.config["ui.kiosk_mode"]) and not args.windowed
    window = KioskWindow(services, kiosk_mode=kiosk_mode, demo_badge=services.demo_badge)
    previous_hook = sys.excepthook

    def excepthook(exc_type, exc, tb):
        log.error("unhandled exception in the UI", exc_info=(exc_type, exc, tb))
        try:
            window.handle_exception(exc_type, exc, tb)
        except Exception:
            previous_hook(exc_type, exc, tb)
    sys.excepthook = excepthook
    release_blanking = inhibit_blanking()
    quit_on_signals(window)              # a stop finalizes the take and leaves cleanly
    window.show_kiosk()
    supervision = Supervision(window)
    supervision.start()                  # READY=1 to systemd once the window is on screen; then the watchdog pings
    log.info("kiosk window shown: %dx%d, kiosk mode %s, %s", window.width(), window.height(), kiosk_mode,
             services.demo_badge or "real devices")
    try:
        services.start_background()      # sync uploader and retention, held back while a take is in progress
    except Exception:
        log.exception("the background jobs (sync, retention) could not start; the kiosk records without them")
    try:
        code = app.exec()
    finally:
        supervision.stopping()
        sys.excepthook = previous_hook
        release_blanking()
        window.shutdown()
        services.close()
    return code
