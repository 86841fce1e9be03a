#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for Countersign, then runs the app or the tests.
#   scripts/bootstrap.sh run    install what is missing, start the desktop app on its embedded defaults
#   scripts/bootstrap.sh test   install what is missing, run every test (Rust, UI checks, end-to-end)
# Only Debian packages, crates.io and npm are used. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mode=${1:-}
case "$mode" in run|test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- system packages ---------------------------------------------------------------------------
APT_PACKAGES=(
  build-essential pkg-config curl file libssl-dev libdbus-1-dev sqlite3 python3 python3-pip ca-certificates sane-utils
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev   # Tauri 2 / WebKitGTK
  libtesseract-dev libleptonica-dev tesseract-ocr-eng tesseract-ocr-osd libclang-dev clang  # OCR (leptess)
)
APT_TEST_PACKAGES=(
  xvfb xauth webkit2gtk-driver dbus dbus-x11   # the real window under Xvfb, driven through WebKitWebDriver
  poppler-utils                                # pdftotext/pdftoppm/pdfinfo check the searchable PDFs
  gnome-keyring                                # a real OS keychain (Secret Service) for the credential tests
  postgresql                                   # a real server for the relay's PostgreSQL tests (scripts/with-postgres.sh)
)
wanted=("${APT_PACKAGES[@]}")
[ "$mode" = test ] && wanted+=("${APT_TEST_PACKAGES[@]}")
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- toolchains ----------------------------------------------------------------------------------
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "Node.js 20 or newer is needed for the UI build (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

# --- PDFium (renders PDF pages) -----------------------------------------------------------------
# The libpdfium.so inside the pinned PyPI wheel of pypdfium2, checked against its sha256, installed
# where the app looks for it (crates/capture/src/pdfium_lib.rs). No Python package is installed.
PDFIUM_WHEEL=pypdfium2-5.15.2-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
PDFIUM_SHA256=dc31aea5b0fb9fefc9b537a65f4113980b2c40798445736a7e6565bc85161e37
PDFIUM_DIR="$HOME/.local/lib/countersign"
if [ "$(cat "$PDFIUM_DIR/libpdfium.version" 2>/dev/null)" != "$PDFIUM_SHA256" ]; then
  log "installing PDFium from PyPI ($PDFIUM_WHEEL)"
  mkdir -p "$PDFIUM_DIR"
  wheel_dir=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_17_x86_64 \
    --python-version 3.11 --dest "$wheel_dir" "pypdfium2==5.15.2"
  echo "$PDFIUM_SHA256  $wheel_dir/$PDFIUM_WHEEL" | sha256sum --check --quiet
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("pypdfium2_raw/libpdfium.so"))' \
    "$wheel_dir/$PDFIUM_WHEEL" "$PDFIUM_DIR/libpdfium.so.tmp"
  rm -rf "$wheel_dir"
  mv "$PDFIUM_DIR/libpdfium.so.tmp" "$PDFIUM_DIR/libpdfium.so"
  echo "$PDFIUM_SHA256" > "$PDFIUM_DIR/libpdfium.version"
fi

# --- UI ------------------------------------------------------------------------------------------
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  log "installing npm modules (ui/package-lock.json)"
  npm ci --prefix ui --no-audit --no-fund
fi
log "building the UI"
npm run --silent build --prefix ui >/dev/null

if [ "$mode" = run ]; then
  log "starting Countersign (data dir: ${COUNTERSIGN_DATA_DIR:-the OS data dir})"
  exec cargo run --bin countersign-desktop -- "${@:2}"
fi

# --- tests ---------------------------------------------------------------------------------------
if ! command -v tauri-driver >/dev/null; then
  log "installing tauri-driver from crates.io"
  cargo install tauri-driver --version '^2' --locked
fi
# Prism (npm, pinned in crates/sign/tests/conformance/package-lock.json) validates every request the
# DocuSign adapter sends against DocuSign's official OpenAPI spec during the tests.
conf=crates/sign/tests/conformance
if [ ! -d $conf/node_modules ] || [ $conf/package-lock.json -nt $conf/node_modules/.package-lock.json ]; then
  log "installing the spec validator (Prism) from npm"
  npm ci --prefix $conf --no-audit --no-fund
fi
log "checking formatting"
cargo fmt --all -- --check
log "type-checking the UI"
npm run --silent check --prefix ui
log "running every test (the end-to-end test drives the real window under Xvfb; secrets go to a throwaway GNOME Keyring)"
# Tesseract reads this when a process starts; test binaries call the engine directly.
export OMP_THREAD_LIMIT=1
mkdir -p target
exec dbus-run-session -- scripts/test-session.sh scripts/with-postgres.sh \
  xvfb-run -a -s "-screen 0 1280x900x24" cargo test --workspace --no-fail-fast "${@:2}"
