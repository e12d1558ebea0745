# The two front-door commands: `make run` and `make test`. Each sets itself up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages: a CJK font for PDF letters (WeasyPrint uses the system's pango; AR PL UMing is
# TrueType, which subsets in ~1 s where the CFF Noto CJK fonts take ~10 s per letter) and
# pdftoppm, which the tests use to turn a PDF letter into PNG pages; the web pages' tests drive
# Debian's own chromium through chromium-driver, with the Noto CJK fonts to render Chinese.
DEBS := fonts-arphic-uming poppler-utils chromium chromium-driver fonts-noto-cjk
SYSTEM_STAMP := $(VENV)/.system

$(SYSTEM_STAMP):
	@if command -v apt-get >/dev/null && ! dpkg -s $(DEBS) >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q --no-install-recommends $(DEBS) \
	  || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $(DEBS); }; \
	fi
	mkdir -p $(VENV) && touch $(SYSTEM_STAMP)

$(STAMP): pyproject.toml $(SYSTEM_STAMP)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

.PHONY: setup run test
setup: $(STAMP)

run: $(STAMP)
	$(BIN)/gongkai run

test: $(STAMP)
	$(BIN)/python -m pytest
