//! `countersign --json watch DIR`, the real binary: files dropped into the folder (and one that
//! was there before it started) become documents once, are processed by the worker running
//! alongside, and leave the folder; stdout stays JSON Lines; Ctrl-C stops it cleanly.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{arg, describe, json_lines, png, sha256_hex, Env};

const PATIENCE: Duration = Duration::from_secs(30);

/// Kills the child if the test fails before it is reaped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap())
                .filter(|e| e.file_type().unwrap().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn watch_imports_dropped_files_once_and_stops_on_ctrl_c() {
    let env = Env::new();
    let hot = env.inputs.join("hot");
    std::fs::create_dir(&hot).unwrap();
    let early = png(64, 48, 21);
    std::fs::write(hot.join("early.png"), &early).unwrap();
    let stderr_log = env.inputs.join("watch.stderr");

    let mut cmd = env.command(&["--json", "watch", arg(&hot)]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_log).unwrap());
    let mut child = Reaped(cmd.spawn().expect("spawn countersign watch"));
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            all.push(line.clone());
            let _ = tx.send(line);
        }
        all
    });
    let next_line = |what: &str| -> serde_json::Value {
        let line = lines.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            panic!(
                "no line for {what} within {PATIENCE:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr_log).unwrap_or_default()
            )
        });
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    };

    // The file that was there first.
    let first = next_line("the file present at start");
    assert_eq!(first["file_name"], "early.png", "{first}");
    assert_eq!(first["source"], "folder");
    assert_eq!(first["checksum"], sha256_hex(&early));

    // A file dropped while it runs.
    let dropped = png(64, 48, 22);
    std::fs::write(hot.join("dropped.png"), &dropped).unwrap();
    let second = next_line("the dropped file");
    assert_eq!(second["file_name"], "dropped.png", "{second}");
    assert_eq!(second["checksum"], sha256_hex(&dropped));

    // A file it refuses.
    std::fs::write(hot.join("notes.txt"), b"plain text\n").unwrap();
    let refused = next_line("the refused file");
    assert_eq!(refused["error"]["code"], "unsupported_type", "{refused}");
    assert!(
        refused["error"]["file"]
            .as_str()
            .unwrap()
            .ends_with("notes.txt"),
        "{refused}"
    );

    assert_eq!(names_in(&hot), Vec::<String>::new());
    assert_eq!(
        names_in(&hot.join("processed")),
        ["dropped.png", "early.png"]
    );
    assert_eq!(
        names_in(&hot.join("failed")),
        ["notes.txt", "notes.txt.reason.json"]
    );

    // The worker running alongside takes the documents past `received`.
    let id = second["document_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let out = env.run(&["--json", "show", &id]);
        let status = json_lines(&out)[0]["status"].as_str().unwrap().to_owned();
        if status != "received" && status != "processing" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after {PATIENCE:?}: the worker did not run"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Ctrl-C: a clean exit, and nothing on stdout but the three JSON lines.
    let pid = child.0.id() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "watch did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "exit {status:?}; stderr:\n{}",
        std::fs::read_to_string(&stderr_log).unwrap_or_default()
    );
    let all = reader.join().unwrap();
    assert_eq!(all.len(), 3, "one line per file, nothing else: {all:#?}");

    let listed = json_lines(&env.run(&["--json", "list"]));
    assert_eq!(listed.len(), 2, "two documents, once each");
}

#[test]
fn watching_a_missing_folder_fails_with_not_found() {
    let env = Env::new();
    let missing = env.inputs.join("nope");
    let out = env.run(&["--json", "watch", arg(&missing)]);
    assert!(!out.status.success(), "{}", describe(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", describe(&out));
    assert_eq!(lines[0]["error"]["code"], "not_found", "{}", describe(&out));
}
