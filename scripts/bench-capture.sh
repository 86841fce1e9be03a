#!/usr/bin/env bash
# Capture benchmarks (not timed tests): import → first thumbnail of a 1-page 300-dpi scan, import of
# a 100-page PDF, memory while importing a 200-page PDF, and plain pdftoppm on the same pages for
# comparison. Prints a markdown table on stdout (progress on stderr); results go in docs/benchmarks.md.
#
#   scripts/bench-capture.sh
#
# It makes its inputs itself, deterministically, in a temp dir (from the scans in ../shared/corpus),
# uses a fresh data dir per run, and takes ~1.5–2 minutes on a 2-core machine (after the build).
# Knobs (environment):
#   COUNTERSIGN_BIN              use this countersign binary instead of building the release one
#   BENCH_SCAN_RUNS=7            runs of the 1-page scan import (each: brand-new and initialised data dir)
#   BENCH_PDF100_RUNS=3          runs of `ingest --wait` of the 100-page PDF
#   BENCH_PNG_BASELINE_PAGES=10  pages of the 100-page PDF given to `pdftoppm -png` (it is slow: ~1.3 s
#                                a page here); 100 for the whole file
#   BENCH_KEEP=1                 keep the temp dir (inputs, data dirs, logs) and print its path
# Needs: pdftoppm (poppler-utils), python3 (stdlib only), /usr/bin/time (package `time`), Linux /proc.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${COUNTERSIGN_CORPUS:-$ROOT/../shared/corpus}

for tool in pdftoppm python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-capture: $tool is missing (apt-get install poppler-utils python3 time)" >&2; exit 1; }
done
[ -f "$CORPUS/pdf/ocrmypdf/linn.pdf" ] || { echo "bench-capture: corpus not found at $CORPUS (set COUNTERSIGN_CORPUS)" >&2; exit 1; }

BIN=${COUNTERSIGN_BIN:-}
if [ -z "$BIN" ]; then
  echo "==> cargo build --release -p countersign-cli" >&2
  (cd "$ROOT" && cargo build --release -q -p countersign-cli)
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/countersign
fi
[ -x "$BIN" ] || { echo "bench-capture: no countersign binary at $BIN" >&2; exit 1; }

WORK=$(mktemp -d -t countersign-bench.XXXXXX)
if [ "${BENCH_KEEP:-}" = 1 ]; then echo "==> keeping $WORK" >&2; else trap 'rm -rf "$WORK"' EXIT; fi

python3 - "$BIN" "$WORK" "$CORPUS" <<'PY'
import datetime, glob, json, os, re, sqlite3, statistics, struct, subprocess, sys, time, zlib

BIN, WORK, CORPUS = sys.argv[1], sys.argv[2], sys.argv[3]
SCAN_RUNS = int(os.environ.get("BENCH_SCAN_RUNS", "7"))
PDF100_RUNS = int(os.environ.get("BENCH_PDF100_RUNS", "3"))
PNG_PAGES = int(os.environ.get("BENCH_PNG_BASELINE_PAGES", "10"))
WORKER_ARG = "--countersign-capture-worker"

def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)

# ---------------------------------------------------------------------------------------- inputs
def pgm(pdf, page, out):
    """Page `page` of a corpus PDF as a 300-dpi 8-bit grey raster (pdftoppm → PGM)."""
    subprocess.run(["pdftoppm", "-r", "300", "-gray", "-f", str(page), "-l", str(page), "-singlefile",
                    pdf, out], check=True)
    data = open(out + ".pgm", "rb").read()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():]

def write_png(path, w, h, pixels, dpi=300):
    """A greyscale 8-bit PNG with a pHYs chunk saying `dpi`, as a scanner writes it."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + pixels[y * w:(y + 1) * w] for y in range(h))
    ppm = round(dpi / 0.0254)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)))
        f.write(chunk(b"IDAT", zlib.compress(rows, 6)))
        f.write(chunk(b"IEND", b""))

def write_pdf(path, sources, pages):
    """A `pages`-page PDF of 300-dpi grey scans (Flate images, one image object per page, cycling
    through `sources`), each page stamped with its own line of text so no two pages render alike."""
    objs = []  # bytes of object i+1
    def add(body):
        objs.append(body)
        return len(objs)
    catalog = add(None); pages_obj = add(None)
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for n in range(pages):
        w, h, data = sources[n % len(sources)]
        image = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                    b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % (w, h, len(data))
                    + data + b"\nendstream")
        pw, ph = w * 72 / 300, h * 72 / 300
        text = b"Countersign capture benchmark - page %d of %d - ref %08x" % (n + 1, pages, zlib.crc32(b"%d" % n))
        content = (b"q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q BT /F1 9 Tf 24 12 Td (%s) Tj ET" % (pw, ph, text))
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] /Contents %d 0 R "
                        b"/Resources << /XObject << /Im0 %d 0 R >> /Font << /F1 %d 0 R >> >> >>"
                        % (pages_obj, pw, ph, stream, image, font)))
    objs[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objs[pages_obj - 1] = (b"<< /Type /Pages /Count %d /Kids [%s] >>"
                           % (len(kids), b" ".join(b"%d 0 R" % k for k in kids)))
    with open(path, "wb") as f:
        f.write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(objs, 1):
            offsets.append(f.tell())
            f.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
        xref = f.tell()
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
        f.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
        f.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref))

log("making inputs")
inputs = os.path.join(WORK, "inputs"); os.makedirs(inputs)
oc = os.path.join(CORPUS, "pdf/ocrmypdf")
w, h, px = pgm(os.path.join(oc, "linn.pdf"), 1, os.path.join(inputs, "linn"))
SCAN = os.path.join(inputs, "scan-letter-300dpi.png")
write_png(SCAN, w, h, px)
scan_desc = f"{w}×{h} 8-bit grey PNG, 300 dpi ({os.path.getsize(SCAN) / 1e6:.1f} MB)"
sources = []
for name, page in [("linn.pdf", 1), ("skew.pdf", 1), ("epson.pdf", 1), ("c02-22.pdf", 1), ("cardinal.pdf", 2)]:
    sw, sh, spx = pgm(os.path.join(oc, name), page, os.path.join(inputs, f"src-{len(sources)}"))
    sources.append((sw, sh, zlib.compress(spx, 6)))
PDF100 = os.path.join(inputs, "scans-100p.pdf"); write_pdf(PDF100, sources, 100)
PDF200 = os.path.join(inputs, "scans-200p.pdf"); write_pdf(PDF200, sources, 200)

# ------------------------------------------------------------------------------------ measuring
def children(pid):
    out = []
    for f in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            out += [int(c) for c in open(f).read().split()]
        except OSError:
            pass
    return out

def hwm_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None

def is_decoder(pid):
    try:
        return WORKER_ARG.encode() in open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return False

def run(argv, sample=0.01):
    """Runs `argv` under /usr/bin/time -v, sampling the peak RSS (VmHWM) of the countersign process
    and of each decoder child it starts. Returns t0 (epoch s), wall s, stdout, peaks."""
    tfile = os.path.join(WORK, "time.txt")
    t0 = time.time()
    p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tfile] + argv, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    main_pid, parent_kb, decoders = None, 0, {}  # decoders: pid -> peak kB, in order of start
    while p.poll() is None:
        if main_pid is None:
            kids = children(p.pid)
            main_pid = kids[0] if kids else None
        if main_pid is not None:
            parent_kb = max(parent_kb, hwm_kb(main_pid) or 0)
            for c in children(main_pid):
                if c in decoders or is_decoder(c):
                    decoders[c] = max(decoders.get(c, 0), hwm_kb(c) or 0)
        time.sleep(sample)
    out = p.stdout.read().decode()
    wall = time.time() - t0
    tv = open(tfile).read()
    tree_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1))
    return t0, wall, out, {"parent": parent_kb, "decoders": list(decoders.values()), "tree": tree_kb}

def events(data_dir):
    """Epoch seconds of the milestones the app logs (the file log is always at info)."""
    def ts(line):
        return datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
    ev = {"pages": 0, "retries": 0}
    for f in sorted(glob.glob(os.path.join(data_dir, "logs", "*.log"))):
        for line in open(f):
            if "document received" in line: ev.setdefault("received", ts(line))
            elif 'stage done stage="start"' in line: ev.setdefault("start", ts(line))
            elif "page stored page=1 " in line or line.rstrip().endswith("page stored page=1"):
                ev.setdefault("page1", ts(line))
            elif 'stage done stage="render"' in line: ev.setdefault("render", ts(line))
            if "page stored" in line: ev["pages"] += 1
            if "will retry" in line: ev["retries"] += 1
    return ev

def thumb_rows(data_dir):
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'countersign.db')}?mode=ro", uri=True)
    try:
        first = db.execute("SELECT thumb_blob FROM pages WHERE page_index = 0").fetchone()
        n = db.execute("SELECT count(*) FROM pages WHERE thumb_blob IS NOT NULL").fetchone()[0]
        return (first is not None and first[0] is not None), n
    finally:
        db.close()

run_no = 0
def data_dir(initialised):
    global run_no
    run_no += 1
    d = os.path.join(WORK, f"data-{run_no:02d}")
    if initialised:  # database created and migrated, as on a machine where the app has run before
        subprocess.run([BIN, "--data-dir", d, "list"], check=True, stdout=subprocess.DEVNULL)
    return d

def import_wait(path, initialised=True):
    d = data_dir(initialised)
    t0, wall, out, mem = run([BIN, "--data-dir", d, "--json", "ingest", path, "--wait"])
    rec = json.loads(out.strip().splitlines()[-1])
    if "error" in rec:
        sys.exit(f"bench-capture: import failed: {rec}")
    ev = events(d)
    has_thumb, rows = thumb_rows(d)
    if not has_thumb or "page1" not in ev:
        sys.exit(f"bench-capture: no thumbnail for page 0 in {d}")
    ms = lambda k: (ev[k] - t0) * 1000
    return {"wall": wall, "received": ms("received"), "start": ms("start"), "page1": ms("page1"),
            "render_s": ev["render"] - ev["start"], "rows": rows, "retries": ev["retries"], "status": rec.get("status"),
            "failure": (rec.get("failure") or {}).get("code"), "mem": mem}

def decoder_alone(op, path, mime):
    out_dir = os.path.join(WORK, f"decoder-{run_no}-{time.time_ns()}"); os.makedirs(out_dir)
    req = {"op": op, "input": path, "mime": mime, "password": None,
           "limits": {"max_bytes": 512 << 20, "max_pages": 2000, "max_pixels_per_page": 80_000_000,
                      "decode_timeout_secs": 120}}
    if op == "render":
        req.update({"from": 0, "out_dir": out_dir})
    t0 = time.perf_counter()
    r = subprocess.run([BIN, WORKER_ARG], input=json.dumps(req).encode(), capture_output=True, check=True)
    dt = (time.perf_counter() - t0) * 1000
    if b'"done"' not in r.stdout:
        sys.exit(f"bench-capture: decoder {op} failed: {r.stdout!r}")
    return dt

def decoder_first_page(path, mime):
    """ms from starting a decoder child with `render` until it reports its first page (then stopped)."""
    out_dir = os.path.join(WORK, f"decoder-first-{time.time_ns()}"); os.makedirs(out_dir)
    req = {"op": "render", "input": path, "mime": mime, "password": None, "from": 0, "out_dir": out_dir,
           "limits": {"max_bytes": 512 << 20, "max_pages": 2000, "max_pixels_per_page": 80_000_000,
                      "decode_timeout_secs": 120}}
    t0 = time.perf_counter()
    p = subprocess.Popen([BIN, WORKER_ARG], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write(json.dumps(req).encode()); p.stdin.close()
    line = p.stdout.readline()
    dt = (time.perf_counter() - t0) * 1000
    p.kill(); p.wait()
    if b'"page"' not in line:
        sys.exit(f"bench-capture: decoder render failed: {line!r}")
    return dt

def timed(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0

def stats(xs, fmt="{:.0f}"):
    return fmt.format(statistics.median(xs)), f"{fmt.format(min(xs))}–{fmt.format(max(xs))}"

# ------------------------------------------------------------------------------------ the runs
started = time.time()
rows = []
def row(name, values, fmt, unit, runs, note=""):
    med, rng = stats(values, fmt)
    rows.append((name, f"{med} {unit}", f"{rng} {unit}" if len(values) > 1 else "", runs, note))

log(f"1-page scan: {SCAN_RUNS} × (brand-new data dir, initialised data dir)")
cold, warm = [], []
for _ in range(SCAN_RUNS):
    cold.append(import_wait(SCAN, initialised=False))
    warm.append(import_wait(SCAN, initialised=True))
startup_ms = [timed([BIN, "--data-dir", data_dir(True), "list"]) * 1000 for _ in range(5)]
inspect_ms = [decoder_alone("inspect", SCAN, "image/png") for _ in range(5)]
render_ms = [decoder_alone("render", SCAN, "image/png") for _ in range(5)]

clean = [r for r in warm if not r["retries"]]
row("**Scan → first thumbnail** (initialised data dir)", [r["page1"] for r in warm], "{:.0f}", "ms", SCAN_RUNS,
    "start of `ingest --wait` → page 0's row with `thumb_blob` committed; "
    f"{sum(1 for r in warm if r['retries'])} of {SCAN_RUNS} runs hit a render retry (2 s backoff)")
if clean and len(clean) < len(warm):
    row("Scan → first thumbnail, runs without a retry", [r["page1"] for r in clean], "{:.0f}", "ms", len(clean), "")
row("… of which `ingest` (→ record + job committed)", [r["received"] for r in warm], "{:.0f}", "ms", SCAN_RUNS,
    "process start, sha256, decoder child `inspect`, original stored")
row("… of which render of page 1 (stage `start` done → thumbnail row)", [r["page1"] - r["start"] for r in clean or warm],
    "{:.0f}", "ms", len(clean or warm), "runs without a retry; decoder child `render`, 2 blobs stored, page row committed")
row("Scan → first thumbnail, brand-new data dir", [r["page1"] for r in cold], "{:.0f}", "ms", SCAN_RUNS,
    f"includes creating and migrating the database; {sum(1 for r in cold if r['retries'])} of {SCAN_RUNS} runs hit a render retry")
row("Scan: `ingest --wait` until settled (process exit)", [r["wall"] * 1000 for r in warm], "{:.0f}", "ms", SCAN_RUNS,
    f"settles as `{warm[0]['status']}` / `{warm[0]['failure']}` (no OCR in this build)")
row("Fixed cost: `countersign list` on an initialised data dir", startup_ms, "{:.0f}", "ms", 5,
    "process start, open the database, exit")
row("Decoder child alone: `inspect` of the scan", inspect_ms, "{:.0f}", "ms", 5, "spawn + full PNG decode")
row("Decoder child alone: `render` of the scan", render_ms, "{:.0f}", "ms", 5,
    "spawn + decode + grey page PNG + thumbnail, written to files")

log("100-page PDF: ingest alone × 3")
ingest_only = []
for _ in range(3):
    d = data_dir(True)
    ingest_only.append(run([BIN, "--data-dir", d, "--json", "ingest", PDF100])[1])
row("**100-page PDF: `ingest` alone**", ingest_only, "{:.2f}", "s", 3, "validated, stored, job queued")

log(f"100-page PDF: ingest --wait × {PDF100_RUNS}")
p100 = [import_wait(PDF100) for _ in range(PDF100_RUNS)]
assert all(r["rows"] == 100 for r in p100), [r["rows"] for r in p100]
row("**100-page PDF: `ingest --wait`** (all 100 pages rendered and stored)", [r["wall"] for r in p100], "{:.1f}", "s",
    PDF100_RUNS, "")
row("… pages/s, whole import", [100 / r["wall"] for r in p100], "{:.1f}", "pages/s", PDF100_RUNS, "")
row("… pages/s, render stage alone", [100 / r["render_s"] for r in p100], "{:.1f}", "pages/s", PDF100_RUNS,
    "stage `start` done → stage `render` done")
row("… first thumbnail", [r["page1"] for r in p100], "{:.0f}", "ms", PDF100_RUNS, "")
row("… render retries (2 s backoff each)", [r["retries"] for r in p100], "{:.0f}", "", PDF100_RUNS, "")
row("… peak RSS, `countersign` process", [r["mem"]["parent"] / 1024 for r in p100], "{:.0f}", "MB", PDF100_RUNS,
    "VmHWM sampled every 10 ms")
row("… peak RSS, decoder child `render`", [max(r["mem"]["decoders"], default=0) / 1024 for r in p100], "{:.0f}", "MB",
    PDF100_RUNS, "largest decoder child")
first_pdf = [decoder_first_page(PDF100, "application/pdf") for _ in range(3)]
row("Decoder child alone: first page of the 100-page PDF", first_pdf, "{:.0f}", "ms", 3,
    "spawn, read the whole file, open it in PDFium, render + encode page 1")

log("200-page PDF: ingest --wait, sampling memory")
p200 = import_wait(PDF200)
assert p200["rows"] == 200, p200["rows"]
m = p200["mem"]
row("**200-page PDF: `ingest --wait`**", [p200["wall"]], "{:.1f}", "s", 1,
    f"{200 / p200['wall']:.1f} pages/s; {p200['retries']} render retries")
row("… peak RSS, `countersign` process", [m["parent"] / 1024], "{:.0f}", "MB", 1, "VmHWM sampled every 10 ms")
for i, kb in enumerate(m["decoders"]):
    what = {0: "`inspect` (during ingest)", 1: "`render` (all 200 pages)"}.get(i, f"#{i + 1}")
    row(f"… peak RSS, decoder child {what}", [kb / 1024], "{:.0f}", "MB", 1, "VmHWM sampled every 10 ms")
row("… peak RSS, whole tree (`/usr/bin/time -v`)", [m["tree"] / 1024], "{:.0f}", "MB", 1,
    "max over the process and its waited-for children")

log("baselines: pdftoppm on the same 100-page PDF")
pgm_dir = os.path.join(WORK, "pdftoppm-gray"); os.makedirs(pgm_dir)
t_gray = timed(["pdftoppm", "-r", "300", "-gray", PDF100, os.path.join(pgm_dir, "p")])
for f in glob.glob(os.path.join(pgm_dir, "*")): os.remove(f)
png_dir = os.path.join(WORK, "pdftoppm-png"); os.makedirs(png_dir)
t_png = timed(["pdftoppm", "-r", "300", "-gray", "-png", "-l", str(PNG_PAGES), PDF100, os.path.join(png_dir, "p")])
row("Baseline: `pdftoppm -r 300 -gray` (PGM, no compression), 100 pages", [t_gray], "{:.1f}", "s", 1,
    f"{100 / t_gray:.1f} pages/s; render cost alone")
row(f"Baseline: `pdftoppm -r 300 -gray -png`, first {PNG_PAGES} pages", [t_png], "{:.1f}", "s", 1,
    f"{PNG_PAGES / t_png:.2f} pages/s → ~{t_png * 100 / PNG_PAGES:.0f} s for 100 pages")
ratio_gray = statistics.median([r["render_s"] for r in p100]) / t_gray
rows.append(("Ratio: Countersign render stage ÷ `pdftoppm -gray`", f"{ratio_gray:.2f}×", "", "", "above 1: Countersign slower"))

# ------------------------------------------------------------------------------------ report
print(f"Inputs: scan = linn.pdf page as {scan_desc}; "
      f"100-/200-page PDFs = 300-dpi grey Flate scans cycling through 5 corpus pages, a text stamp per page "
      f"({os.path.getsize(PDF100) / 1e6:.0f} / {os.path.getsize(PDF200) / 1e6:.0f} MB).")
print(f"Binary: {BIN}; run took {time.time() - started:.0f} s.\n")
print("| benchmark | median | min–max | runs | notes |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(str(c) for c in r) + " |")
PY
