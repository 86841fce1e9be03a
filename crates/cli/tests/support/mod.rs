//! Shared by the CLI test binaries: running the real `countersign` binary against a data dir in a
//! tempdir, reading its JSON Lines, looking into its database with the `sqlite3` tool, and making
//! small valid PNGs.
#![allow(dead_code)] // each test binary uses a different part

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_countersign");

/// A data dir of its own, and a place for input files next to it.
pub struct Env {
    _root: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub inputs: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let root = tempfile::tempdir().expect("tempdir");
        let data_dir = root.path().join("data");
        let inputs = root.path().join("in");
        std::fs::create_dir_all(&inputs).unwrap();
        Env {
            data_dir,
            inputs,
            _root: root,
        }
    }

    /// `countersign --data-dir <dir> <args>`, with no `COUNTERSIGN_*` variables inherited from the
    /// environment running the tests.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("COUNTERSIGN_") {
                cmd.env_remove(name);
            }
        }
        cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
        cmd.arg("--data-dir").arg(&self.data_dir).args(args);
        cmd
    }

    /// Runs the binary to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run countersign")
    }

    /// Writes an input file and returns its path.
    pub fn input(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.inputs.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn db(&self) -> PathBuf {
        self.data_dir.join("countersign.db")
    }

    /// Runs SQL with the `sqlite3` command-line tool; panics unless it succeeds.
    pub fn sql(&self, sql: &str) -> String {
        let out = sqlite3(&self.db(), sql);
        assert!(
            out.status.success(),
            "sqlite3 `{sql}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    }
}

/// `sqlite3 -batch -bail DB SQL`, whatever the outcome.
pub fn sqlite3(db: &Path, sql: &str) -> Output {
    Command::new("sqlite3")
        .args(["-batch", "-bail"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 command-line tool is installed")
}

/// A path as the `&str` argument the helpers take.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Describes a finished process for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// stdout as JSON Lines: every line must be one JSON object.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    let stdout = std::str::from_utf8(&out.stdout).expect("stdout is UTF-8");
    assert!(
        stdout.is_empty() || stdout.ends_with('\n'),
        "JSON Lines end with a newline: {stdout:?}"
    );
    stdout
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON value per line ({e}): {line:?}"));
            assert!(v.is_object(), "each line is an object: {line}");
            v
        })
        .collect()
}

/// stdout is exactly one JSON line; returns it.
pub fn one_json_line(out: &Output) -> serde_json::Value {
    let mut lines = json_lines(out);
    assert_eq!(
        lines.len(),
        1,
        "exactly one line on stdout\n{}",
        describe(out)
    );
    lines.remove(0)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A valid 8-bit greyscale PNG whose pixels depend on `seed` (so each seed has its own checksum).
/// Hand-encoded: zlib "stored" blocks need no compressor, and decoders accept them.
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.push((x as u8).wrapping_mul(7) ^ (y as u8).wrapping_mul(13) ^ seed);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    while let Some(block) = blocks.next() {
        zlib.push(u8::from(blocks.peek().is_none())); // BFINAL, BTYPE = 00 (stored)
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // depth 8, greyscale, deflate, no filter, no interlace

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", ihdr.as_slice()), (b"IDAT", &zlib), (b"IEND", &[])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// The shared third-party test corpus (`COUNTERSIGN_CORPUS`, or ../shared/corpus beside the repo).
pub fn corpus() -> PathBuf {
    [
        std::env::var_os("COUNTERSIGN_CORPUS").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ))),
        Some(PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("MANIFEST.tsv").is_file())
    .expect("the shared test corpus (set COUNTERSIGN_CORPUS)")
}
