"""The `kiosk` entry point: with a sub-command it runs headless (kiosk.cli); with none it starts the full-screen app
(ui.app). It is the one place that knows both the engine and the screens; kiosk/ never imports ui/."""

from __future__ import annotations

from kiosk import cli


def main(argv: list[str] | None = None) -> int:
    prepared = cli.prepare(argv)
    if isinstance(prepared, int):
        return prepared
    args, ctx = prepared
    if args.command is not None:
        return cli.run_command(args, ctx)
    if ctx.config_error:        # shown full screen for staff; exiting would make a supervised kiosk loop
        from ui.screens import config_error
        return config_error.run(ctx.config_error, str(ctx.config.source), kiosk_mode=not args.windowed)
    from ui import app          # Qt is loaded only when the app is asked for

    return app.run(args, ctx)


if __name__ == "__main__":
    raise SystemExit(main())
