# IMPlus — every target does its own set-up: a fresh machine needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test services install bench clean help

help:
	@echo "make demo     set up, start the reference server, two clients exchange an encrypted message, run the conformance suite"
	@echo "make test     set up and run every test (needs RabbitMQ and Redis; started if installed but stopped)"
	@echo "make bench    decode benchmark: implus_proto.decode against json.loads, side by side"
	@echo "make services start local RabbitMQ and Redis if they are installed but stopped"
	@echo "make clean    remove the virtualenv and build output"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "IMPlus needs Python 3.10 or newer; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

services:
	@bash scripts/ensure-services.sh

demo: install services
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: install services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/bench_decode.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis reports
