# landwatch: two commands on a new Debian 12 machine, as root:  make demo   and   make test
SWIFT ?= swift
BUILD_FLAGS ?= -c release
BIN = .build/release/landwatch

.PHONY: deps build demo test bench clean fuzz sanitize shard-check formats-check accuracy kill-check

# Installs the system libraries landwatch needs (skipped when they are already there).
deps:
	@if ! pkg-config --exists gdal || ! pkg-config --exists xgboost || ! command -v gdal_translate >/dev/null \
	   || ! pkg-config --exists libtiff-4 || ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import osgeo' 2>/dev/null \
	   || ! /usr/bin/python3 -c 'import yaml' 2>/dev/null || ! [ -x /usr/bin/time ] || ! command -v chromium >/dev/null || ! command -v tidy >/dev/null \
	   || ! command -v chromedriver >/dev/null || ! [ -f /usr/share/javascript/leaflet/leaflet.js ] \
	   || ! /usr/bin/python3 -c 'import selenium, PIL' 2>/dev/null \
	   || ! [ -d /usr/share/fonts/opentype/noto ] || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	   || ! pkg-config --exists libqrencode || ! pkg-config --exists freetype2 || ! command -v pdftoppm >/dev/null || ! command -v zbarimg >/dev/null; then \
	  echo "make deps: installing GDAL, XGBoost, libtiff and tools with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libgdal-dev libtiff-dev gdal-bin python3-gdal python3-numpy python3-yaml libxgboost-dev python3-xgboost time pkg-config \
	    chromium fonts-noto-cjk tidy postgresql python3-pip libqrencode-dev libfreetype-dev poppler-utils zbar-tools \
	    libjs-leaflet chromium-driver python3-selenium python3-pil >/dev/null; \
	fi
	@command -v kubernetes-validate >/dev/null || { echo "make deps: installing kubernetes-validate from PyPI"; \
	  python3 -m pip install -q kubernetes-validate 2>/dev/null || python3 -m pip install -q --break-system-packages kubernetes-validate; }
	@command -v stac-validator >/dev/null || { echo "make deps: installing stac-validator from PyPI"; \
	  python3 -m pip install -q stac-validator 2>/dev/null || python3 -m pip install -q --break-system-packages stac-validator; }

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

# Runs pipelines/demo.yaml, nightly-enforcement.yaml and demo-report.yaml (every report section) on the real
# imagery in testdata/ and prints where the outputs are; then field-demo.yaml, whose later image is a copy of the
# real 2013 scene with the changes of testdata/plan/planted.json planted into it (the real pair has none to send
# inspectors to): its field package (out/field-demo/fieldpack/) says so on page 1.
FIELD_DEMO_NOTE = Demonstration: the later image is a copy of the real Landsat 8 scene of 2013-07-07 with changes planted into it (testdata/plan/planted.json, testdata/plan/plant.py); a real pair here has none to show.
demo: build
	$(BIN) run pipelines/demo.yaml --out out/demo
	$(BIN) run pipelines/nightly-enforcement.yaml --out out/enforcement
	$(BIN) run pipelines/demo-report.yaml --out out/demo-report
	/usr/bin/python3 testdata/plan/plant.py out/planted-scene
	$(BIN) run pipelines/field-demo.yaml --out out/field-demo \
	  --set after=../out/planted-scene/LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt --set "note=$(FIELD_DEMO_NOTE)"

# Builds and runs every test (unit, pipeline-file corpus, real-data checks).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

# 30 SIGKILLs over three shipped pipelines (10 each, at moments spread over the run), each followed by a rerun that
# must end as an uninterrupted run with no staging folder left, and kills during the publish's renames (about 4
# minutes on 2 cores; make test runs 2 kills per pipeline). LANDWATCH_KILLS sets the kills per pipeline.
LANDWATCH_KILLS ?= 10
kill-check: deps
	$(SWIFT) build --build-tests
	LANDWATCH_KILLS=$(LANDWATCH_KILLS) $(SWIFT) test --skip-build --disable-swift-testing --filter KillRerunTests

# Every shipped pipeline run whole and as 4 shards joined by merge: the outputs must be the same (about 2 minutes).
shard-check: build
	bash Tests/LandwatchCLITests/Sharding/check_pipelines.sh

# Every shipped pipeline run once: its STAC Item passes stac-validator (schemas in testdata/stac-schemas, offline),
# every GeoTIFF it writes GDAL's Cloud-Optimized GeoTIFF validator, every FlatGeobuf list has its spatial index.
formats-check: build
	/usr/bin/python3 Tests/LandwatchCLITests/Formats/check_pipelines.py $(BIN)

# Benchmarks against gdal_calc.py and a raw GDAL read/write floor; writes bench/RESULTS.md.
bench: build
	bash bench/run.sh

# Change-detection accuracy on the real scenes: changes planted from real built-up and bare pixels, a gain, offset,
# noise and one-pixel shift on the later date, scored at patch level (recall, precision, stray reports), null runs
# and the real Marburg and Kenya pairs; writes bench/ACCURACY.md (about 10 minutes on 2 cores). Uses $(LANDWATCH)
# or the newer of .build/release and .build/debug; ACCURACY_ARGS go to bench/accuracy/accuracy.py, e.g.
# ACCURACY_ARGS="--with changes.min_evidence=3 --config bench/accuracy/configs/classes-only.yaml --seeds 2".
ACCURACY_ARGS ?=
accuracy:
	@/usr/bin/python3 -c 'import osgeo, numpy, yaml' 2>/dev/null || { echo "make accuracy: needs Debian's python3-gdal, python3-numpy and python3-yaml (apt-get install python3-gdal python3-numpy python3-yaml)"; exit 1; }
	@[ -n "$(LANDWATCH)" ] || [ -x .build/release/landwatch ] || [ -x .build/debug/landwatch ] || $(SWIFT) build
	/usr/bin/python3 bench/accuracy/accuracy.py --report bench/ACCURACY.md $(if $(LANDWATCH),--landwatch $(LANDWATCH)) $(ACCURACY_ARGS)

clean:
	rm -rf .build out bench/work

# Fuzzes the pipeline-file loader and the MTL parser with libFuzzer (ASan on), five minutes each, outside CI.
# Findings (crashes, hangs over 10 s, leaks) are written to Tests/LandwatchPipelineTests/FuzzRegressions/<target>/,
# which `make test` replays. FUZZ_SECONDS sets the time per target.
FUZZ_SECONDS ?= 300
fuzz: deps
	LANDWATCH_FUZZ=1 $(SWIFT) build -c release --product landwatch-fuzz --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address
	bash Tests/LandwatchPipelineTests/fuzz.sh $(FUZZ_SECONDS)

# The engine's tests under AddressSanitizer, then ThreadSanitizer (each in a build folder of its own), outside CI.
# Leak detection is off: the leaks LeakSanitizer reports come from Foundation and XCTest themselves (URL parsing,
# Process, weak references in the test runner), outside landwatch's code; out-of-bounds, use-after-free and races are
# what this target checks.
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=address --build-path .build-asan
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 $(SWIFT) test --skip-build --disable-swift-testing --sanitize=address --build-path .build-asan --filter 'LandwatchPipelineTests|EngineTests|ResumeTests'
	$(SWIFT) build --build-tests --sanitize=thread --build-path .build-tsan
	TSAN_OPTIONS=halt_on_error=1 $(SWIFT) test --skip-build --disable-swift-testing --sanitize=thread --build-path .build-tsan --filter 'LandwatchPipelineTests|EngineTests|ResumeTests'
