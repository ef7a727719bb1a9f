# The README's two commands: `make run` and `make test`. Both install what they need.
BUILD ?= build
JOBS ?= $(shell nproc)
APT_PACKAGES = build-essential cmake pkg-config ccache \
  libboost1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev libboost-system1.81-dev \
  libssl-dev openssl libsqlite3-dev sqlite3 rapidjson-dev libfmt-dev catch2 \
  zlib1g-dev libbrotli-dev libzstd-dev libdeflate-dev libpq-dev
TEST_PACKAGES = curl prometheus chromium ca-certificates python3 python3-yaml

.PHONY: deps test-deps configure build run test bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test-deps: deps
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	mkdir -p var
	./$(BUILD)/app/gemini-meter $(ARGS)

test: test-deps configure
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD)
