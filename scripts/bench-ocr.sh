#!/usr/bin/env bash
# OCR benchmark (not a timed test): Countersign against the plain `tesseract` CLI and OCRmyPDF on the
# same pages and the same cores, side by side in one run, plus Tesseract's compute floor. Prints
# markdown tables on stdout (progress on stderr); results go in docs/benchmarks.md.
#
#   scripts/bench-ocr.sh
#
# Inputs, made deterministically in a temp dir by the CLI itself:
#   - `countersign eval generate --scan12`: a 12-page 300-dpi "scan" (six business documents in two
#     fonts each, small skew, light blur and noise, one page upside down) as 12 PNG files with
#     ground truth, and the same pages as one 12-page image PDF for the whole-document runs;
#   - `countersign eval generate`: the degraded set (3 texts × 14 variants) for CER per degradation.
# Measured:
#   - floor: each page alone through `tesseract page.png out`, one at a time, single-threaded;
#     (sum of user+sys CPU seconds) ÷ nproc = the wall time of a perfect parallel run of Tesseract;
#   - tesseract CLI: one process per page, `xargs -P $(nproc)`, wall time; CER of its text;
#   - OCRmyPDF (PyPI, in target/bench-venv): `--rotate-pages --deskew -j $(nproc) --output-type pdf
#     --sidecar` on the 12-page PDF, wall time; CER of the sidecar split per page on form feeds;
#   - Countersign: `countersign ocr scan12.pdf --json`, wall time; CER of its page texts; and
#     `countersign eval ocr` on the PNG pages;
#   - degraded set: `countersign eval ocr` and the tesseract CLI (scored with `eval ocr --text-from`),
#     mean CER per degradation.
# Every process that runs Tesseract has OMP_THREAD_LIMIT=1 (set here for all of them).
# Takes ~2.5 minutes on 2 cores after the build (OCRmyPDF alone ~40 s), ~4 minutes with BENCH_RUNS=3.
#
# Knobs (environment):
#   COUNTERSIGN_BIN         use this countersign binary instead of building the release one
#   BENCH_RUNS=1            timed runs of each tool on the 12 pages (the table shows the median)
#   BENCH_SKIP_OCRMYPDF=1   leave OCRmyPDF out (no venv, no ghostscript needed)
#   BENCH_SKIP_DEGRADED=1   leave the degraded set out
#   BENCH_OCRMYPDF=17.13.0  the OCRmyPDF version pip installs into target/bench-venv
#   BENCH_PAGE_TIMEOUT=120  seconds after which one page (any tool) counts as failed
#   BENCH_KEEP=1            keep the temp dir (pages, every tool's text and output) and print its path
# Needs: tesseract (+ eng and osd data), python3 with venv, and for OCRmyPDF ghostscript:
#   sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd ghostscript python3-venv
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OCRMYPDF_VERSION=${BENCH_OCRMYPDF:-17.13.0}
# Before OMP_THREAD_LIMIT is set: GNU nproc honours it (and would say 1).
NPROC=$(nproc)
export OMP_THREAD_LIMIT=1

missing=()
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
command -v python3 >/dev/null || missing+=(python3)
if command -v tesseract >/dev/null; then
  langs=$(tesseract --list-langs 2>/dev/null || true)
  grep -qx eng <<<"$langs" || missing+=(tesseract-ocr-eng)
  grep -qx osd <<<"$langs" || missing+=(tesseract-ocr-osd)
fi
if [ "${BENCH_SKIP_OCRMYPDF:-}" != 1 ]; then
  command -v gs >/dev/null || missing+=(ghostscript)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-ocr: missing: ${missing[*]}" >&2
  echo "  install with: sudo apt-get install ${missing[*]}" >&2
  echo "  (or BENCH_SKIP_OCRMYPDF=1 to leave OCRmyPDF and its ghostscript out)" >&2
  exit 1
fi

BIN=${COUNTERSIGN_BIN:-}
if [ -z "$BIN" ]; then
  echo "==> cargo build --release -p countersign-cli" >&2
  (cd "$ROOT" && cargo build --release -q -p countersign-cli)
  BIN=$TARGET/release/countersign
fi
[ -x "$BIN" ] || { echo "bench-ocr: no countersign binary at $BIN" >&2; exit 1; }

OCRMYPDF=
if [ "${BENCH_SKIP_OCRMYPDF:-}" != 1 ]; then
  VENV=$TARGET/bench-venv
  if [ "$("$VENV/bin/ocrmypdf" --version 2>/dev/null || true)" != "$OCRMYPDF_VERSION" ]; then
    echo "==> pip install ocrmypdf==$OCRMYPDF_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "ocrmypdf==$OCRMYPDF_VERSION"
  fi
  OCRMYPDF=$VENV/bin/ocrmypdf
fi

WORK=$(mktemp -d -t countersign-bench-ocr.XXXXXX)
if [ "${BENCH_KEEP:-}" = 1 ]; then echo "==> keeping $WORK" >&2; else trap 'rm -rf "$WORK"' EXIT; fi

python3 - "$BIN" "$WORK" "$OCRMYPDF" "$NPROC" <<'PY'
import glob, json, os, statistics, subprocess, sys, time

BIN, WORK, OCRMYPDF, NPROC = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "1")))
DEGRADED = os.environ.get("BENCH_SKIP_DEGRADED") != "1"
# A page that takes longer than this (any tool) counts as failed instead of stalling the run.
PAGE_LIMIT = int(os.environ.get("BENCH_PAGE_TIMEOUT", "120"))
ENV = dict(os.environ, OMP_THREAD_LIMIT="1")

def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)

def run(args, **kw):
    return subprocess.run(args, env=ENV, check=True, **kw)

def timed(args, stdout=subprocess.DEVNULL, stdin=None):
    """(wall seconds, user+sys CPU seconds) of one command and every process it waited for."""
    t = time.perf_counter()
    p = subprocess.Popen(args, env=ENV, stdin=subprocess.PIPE if stdin else None, stdout=stdout,
                         stderr=subprocess.DEVNULL, text=True)
    if stdin:
        p.stdin.write(stdin)
        p.stdin.close()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"bench-ocr: {args} failed ({status})")
    return wall, ru.ru_utime + ru.ru_stime

def cpu_seconds(args):
    return timed(args)[1]

def eval_json(args):
    """`countersign --json eval ocr …`: (file lines, summary)."""
    out = subprocess.run([BIN, "--json", "eval", "ocr", "--timeout", str(PAGE_LIMIT), *args], env=ENV,
                         capture_output=True, text=True)
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    if not lines or not lines[-1].get("summary"):
        sys.exit(f"bench-ocr: eval ocr {args} failed:\n{out.stdout}\n{out.stderr}")
    return lines[:-1], lines[-1]

def version(args):
    try:
        out = subprocess.run(args, capture_output=True, text=True)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except Exception:
        return "?"

# ---------------------------------------------------------------------------------------- inputs
scan = os.path.join(WORK, "scan12")
log("countersign eval generate --scan12 (12 pages, PNG + PDF)")
run([BIN, "eval", "generate", "--scan12", scan], stdout=subprocess.DEVNULL)
pages = sorted(glob.glob(os.path.join(scan, "page-*.png")))
pdf = os.path.join(scan, "scan12.pdf")
assert len(pages) == 12, pages
degraded = os.path.join(WORK, "degraded")
if DEGRADED:
    log("countersign eval generate (degraded set)")
    run([BIN, "eval", "generate", degraded], stdout=subprocess.DEVNULL)

load_start = os.getloadavg()

# ----------------------------------------------------------------------------------------- floor
log("floor: tesseract on each page alone, single-threaded")
floor_runs = []
for r in range(RUNS):
    out = os.path.join(WORK, f"floor-{r}")
    os.makedirs(out)
    cpu = [cpu_seconds(["tesseract", p, os.path.join(out, os.path.basename(p)[:-4])]) for p in pages]
    floor_runs.append(sum(cpu))
cpu_total = statistics.median(floor_runs)
floor = cpu_total / NPROC

# --------------------------------------------------------------------------------- tesseract CLI
def tesseract_parallel(images, out):
    os.makedirs(out, exist_ok=True)
    listing = "\n".join(images) + "\n"
    return timed(["xargs", "-P", str(NPROC), "-I{}", "sh", "-c",
                  f'timeout {PAGE_LIMIT} tesseract "$1" "{out}/$(basename "$1" .png)" >/dev/null 2>&1 || true',
                  "sh", "{}"], stdin=listing)

log(f"tesseract CLI: one process per page, xargs -P {NPROC}")
tess_runs = [tesseract_parallel(pages, os.path.join(WORK, f"tesseract-{r}")) for r in range(RUNS)]
tess_walls = [w for w, _ in tess_runs]
tess_wall = statistics.median(tess_walls)
tess_cpu = statistics.median(c for _, c in tess_runs)
_, tess_eval = eval_json([scan, "--text-from", os.path.join(WORK, "tesseract-0")])

# ----------------------------------------------------------------------------------- Countersign
log("countersign ocr scan12.pdf --json")
cs_runs = []
for r in range(RUNS):
    out = os.path.join(WORK, f"countersign-{r}.jsonl")
    with open(out, "w") as f:
        cs_runs.append(timed([BIN, "--json", "ocr", pdf], stdout=f))
cs_walls = [w for w, _ in cs_runs]
cs_wall = statistics.median(cs_walls)
cs_cpu = statistics.median(c for _, c in cs_runs)
doc = json.loads(open(os.path.join(WORK, "countersign-0.jsonl")).read().splitlines()[0])
cs_text = os.path.join(WORK, "countersign-text")
os.makedirs(cs_text)
for page in doc["pages"]:
    with open(os.path.join(cs_text, f"page-{page['index'] + 1:02}.txt"), "w") as f:
        f.write(page["text"])
_, cs_eval = eval_json([scan, "--text-from", cs_text])
log("countersign eval ocr on the 12 PNG pages")
_, cs_pages_eval = eval_json([scan])

# -------------------------------------------------------------------------------------- OCRmyPDF
omp = None
if OCRMYPDF:
    log(f"ocrmypdf --rotate-pages --deskew -j {NPROC} --output-type pdf --sidecar")
    omp_runs = []
    for r in range(RUNS):
        sidecar = os.path.join(WORK, f"ocrmypdf-{r}.txt")
        omp_runs.append(timed([OCRMYPDF, "--rotate-pages", "--deskew", "-j", str(NPROC), "--output-type", "pdf",
                            "--sidecar", sidecar, pdf, os.path.join(WORK, f"ocrmypdf-{r}.pdf")]))
    texts = open(os.path.join(WORK, "ocrmypdf-0.txt"), encoding="utf-8").read().split("\f")
    omp_text = os.path.join(WORK, "ocrmypdf-text")
    os.makedirs(omp_text)
    for i, t in enumerate(texts[:12]):
        with open(os.path.join(omp_text, f"page-{i + 1:02}.txt"), "w") as f:
            f.write(t)
    _, omp_eval = eval_json([scan, "--text-from", omp_text])
    walls = [w for w, _ in omp_runs]
    omp = (statistics.median(walls), omp_eval, walls, statistics.median(c for _, c in omp_runs))

# ---------------------------------------------------------------------------------- degraded set
deg = None
if DEGRADED:
    log("degraded set: countersign eval ocr")
    t = time.perf_counter()
    cs_deg_files, cs_deg = eval_json([degraded])
    cs_deg_wall = time.perf_counter() - t
    log("degraded set: tesseract CLI")
    images = sorted(glob.glob(os.path.join(degraded, "*.png")))
    tess_deg_wall = tesseract_parallel(images, os.path.join(WORK, "tesseract-degraded"))[0]
    tess_deg_files, tess_deg = eval_json([degraded, "--text-from", os.path.join(WORK, "tesseract-degraded")])
    deg = (cs_deg, cs_deg_wall, tess_deg, tess_deg_wall, len(images))

load_end = os.getloadavg()

# ----------------------------------------------------------------------------------------- table
def ppm(wall):
    return 12 * 60 / wall

def spread(walls):
    return f"{min(walls):.1f}–{max(walls):.1f} s" if len(walls) > 1 else ""

cpu_model = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
print(f"Machine: {NPROC} cores (nproc), {cpu_model}; load average {load_start[0]:.1f} at start, "
      f"{load_end[0]:.1f} at end; {version(['tesseract', '--version'])}; "
      f"countersign {version([BIN, '--version'])}"
      + (f"; OCRmyPDF {version([OCRMYPDF, '--version'])}, ghostscript {version(['gs', '--version'])}" if OCRMYPDF else "")
      + f"; {RUNS} run(s) each, median shown.")
print()
print("12-page scan, 300 dpi (small skew, light noise, page 7 upside down):")
print()
print("| | wall | pages/min | CPU (user+sys) | CER (weighted) | CER (mean of pages) | notes |")
print("|---|---|---|---|---|---|---|")
print(f"| Tesseract compute floor | {floor:.1f} s | {ppm(floor):.1f} | {cpu_total:.1f} s | | | Σ user+sys of 12 single-threaded `tesseract` runs ÷ {NPROC} cores |")
print(f"| `tesseract` CLI, `xargs -P {NPROC}` | {tess_wall:.1f} s | {ppm(tess_wall):.1f} | {tess_cpu:.1f} s | {tess_eval['weighted_cer']:.4f} | {tess_eval['mean_cer']:.4f} | one process per PNG page; no rotation or deskew {spread(tess_walls)} |")
if omp:
    print(f"| OCRmyPDF `--rotate-pages --deskew -j {NPROC}` | {omp[0]:.1f} s | {ppm(omp[0]):.1f} | {omp[3]:.1f} s | {omp[1]['weighted_cer']:.4f} | {omp[1]['mean_cer']:.4f} | 12-page PDF in, PDF + sidecar out {spread(omp[2])} |")
print(f"| **Countersign** `countersign ocr scan12.pdf --json` | {cs_wall:.1f} s | {ppm(cs_wall):.1f} | {cs_cpu:.1f} s | {cs_eval['weighted_cer']:.4f} | {cs_eval['mean_cer']:.4f} | 12-page PDF in (page images taken from the PDF), JSON out {spread(cs_walls)} |")
print(f"| Countersign `eval ocr` on the 12 PNG pages | {cs_pages_eval['seconds']:.1f} s | {cs_pages_eval['pages_per_minute']:.1f} | | {cs_pages_eval['weighted_cer']:.4f} | {cs_pages_eval['mean_cer']:.4f} | {NPROC} files at a time, one `ocr_file` each |")
print()
print("| ratio | value | target |")
print("|---|---|---|")
print(f"| Countersign wall ÷ floor | {cs_wall / floor:.2f} | ≤ 1.10 |")
print(f"| Countersign CPU ÷ Tesseract CPU (floor) | {cs_cpu / cpu_total:.2f} | |")
print(f"| Countersign wall ÷ `tesseract` CLI wall | {cs_wall / tess_wall:.2f} | |")
if omp:
    print(f"| Countersign pages/min ÷ OCRmyPDF pages/min | {omp[0] / cs_wall:.2f} | ≥ 3 |")
print(f"| Countersign CER ÷ `tesseract` CLI CER (weighted) | {cs_eval['weighted_cer'] / max(tess_eval['weighted_cer'], 1e-9):.2f} | ≤ 1 |")
if deg:
    cs_deg, cs_deg_wall, tess_deg, tess_deg_wall, n = deg
    print()
    print(f"Degraded set ({n} pages: 3 texts × 14 variants), mean CER per degradation:")
    print()
    print("| degradation | pages | Countersign | `tesseract` CLI |")
    print("|---|---|---|---|")
    for d, g in cs_deg["by_degradation"].items():
        t = tess_deg["by_degradation"].get(d, {})
        print(f"| {d} | {g['files']} | {g['mean_cer']:.4f} | {t.get('mean_cer', float('nan')):.4f} |")
    print(f"| **all** | {cs_deg['files']} | {cs_deg['mean_cer']:.4f} | {tess_deg['mean_cer']:.4f} |")
    print(f"| pages failed (error or > {PAGE_LIMIT} s) | | {cs_deg['failed']} | {tess_deg['failed']} |")
    print(f"| wall (pages/min) | | {cs_deg_wall:.1f} s ({n * 60 / cs_deg_wall:.1f}) | {tess_deg_wall:.1f} s ({n * 60 / tess_deg_wall:.1f}) |")
    print()
    print("Upright and rotated pages (rotated pages should read as well as upright):")
    print()
    print("| page | Countersign CER | `tesseract` CLI CER |")
    print("|---|---|---|")
    tess_by_file = {f["file"]: f for f in tess_deg_files}
    for f in cs_deg_files:
        if f.get("degradation") in ("clean", "rotated"):
            t = tess_by_file.get(f["file"], {})
            print(f"| {f['file']} | {f.get('cer', float('nan')):.4f} | {t.get('cer', float('nan')):.4f} |")
PY
