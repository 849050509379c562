# Two commands do everything on a fresh Debian 12: `make run` and `make test`.
# As root, missing Debian packages are installed; otherwise the apt-get line to run is printed.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TUS_DIR := tests/harness/tus_server

# What the app needs at run time (PortAudio, PulseAudio's ALSA plugin, Qt's xcb and GL libraries, fonts).
RUN_DEBS := libportaudio2 libasound2-plugins pulseaudio-utils \
 libegl1 libgl1 libgl1-mesa-dri libglib2.0-0 libdbus-1-3 libfontconfig1 fonts-dejavu-core \
 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-sync1 libxcb-shm0 libx11-xcb1 \
 libxrandr2 libgssapi-krb5-2 libbrotli1 espeak-ng python3-venv
# What the tests add: a virtual microphone, a virtual display, media tools, the tus server's runtime; speech for the
# transcript tests (flite beside espeak-ng) and a browser to play recordings with their captions; the deployment
# tests: cage (headless) + grim, two X11 window managers + xterm, systemd (a private user manager).
TEST_DEBS := pulseaudio xvfb xauth xdotool imagemagick ffmpeg curl flite chromium \
 cage grim openbox xfwm4 xterm wmctrl x11-utils dbus systemd age openssh-client

.PHONY: run test setup test-setup debs-run debs-test dist bench clean

run: setup
	$(VENV)/bin/kiosk $(ARGS)

test: test-setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: debs-run $(STAMP)

test-setup: debs-run debs-test $(STAMP) $(TUS_DIR)/node_modules/.installed

debs-run:
	@bash tools/ensure-debs.sh $(RUN_DEBS)

debs-test:
	@bash tools/ensure-debs.sh $(TEST_DEBS)
	@# Node may come from Debian or from NodeSource (whose nodejs carries npm and conflicts with Debian's npm).
	@command -v npm >/dev/null || bash tools/ensure-debs.sh nodejs npm

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(TUS_DIR)/node_modules/.installed: $(TUS_DIR)/package.json $(TUS_DIR)/package-lock.json
	cd $(TUS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

dist: setup
	$(PY) -m pip install --quiet -e '.[dist]'
	$(VENV)/bin/pyinstaller --noconfirm --clean build.spec

bench: test-setup
	$(PY) bench/run_all.py

clean:
	rm -rf build dist .pytest_cache
