//! A worker killed mid-job (SIGKILL, no cleanup) leaves a job that the next worker resumes after
//! the lease expires: the stages already committed are skipped, none is applied twice, and the
//! audit chain stays valid.
//!
//! The kill is placed with the pipeline's own test seam: `COUNTERSIGN_TEST_PAUSE_AFTER_STAGE`
//! makes the worker stop right after committing the named stage and announce it on stderr.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{arg, describe, one_json_line, png, Env};

/// Spawns `cmd` with its stderr read line by line on a thread (so a chatty child never blocks on a
/// full pipe).
fn spawn(mut cmd: Command) -> (Reaped, mpsc::Receiver<String>) {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = Reaped(cmd.spawn().expect("spawn countersign"));
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Kills the child if the test fails before it is reaped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_worker_killed_after_a_stage_is_resumed_without_redoing_it() {
    let env = Env::new();
    let record = one_json_line(&env.run(&[
        "ingest",
        arg(&env.input("page.png", &png(80, 60, 9))),
        "--json",
    ]));
    assert_eq!(record["status"], "received");
    let id = record["document_id"].as_str().unwrap().to_owned();

    // 1. A worker that stops right after committing `render`; then it is killed.
    let mut first = env.command(&["work", "--until-idle", "--lease-secs", "2"]);
    first.env("COUNTERSIGN_TEST_PAUSE_AFTER_STAGE", "render");
    let (mut first, stderr) = spawn(first);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let job_id = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match stderr.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("paused after stage render of job ") {
                    break rest.trim().parse::<i64>().expect("job id");
                }
                seen.push(line);
            }
            Err(_) => panic!(
                "the worker never paused after render; its stderr:\n{}",
                seen.join("\n")
            ),
        }
    };
    let pid = first.0.id() as libc::pid_t;
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "SIGKILL the worker"
    );
    let status = first.0.wait().unwrap();
    assert!(!status.success(), "killed, not exited: {status:?}");

    let job = |cols: &str| env.sql(&format!("SELECT {cols} FROM jobs WHERE job_id = {job_id}"));
    assert_eq!(
        job("state, attempts"),
        "running|1",
        "the dead worker's job is left running"
    );
    assert_eq!(
        env.sql(&format!(
            "SELECT status FROM versions WHERE document_id = '{id}'"
        )),
        "processing"
    );
    let steps_sql =
        format!("SELECT step, done_at FROM job_steps WHERE job_id = {job_id} ORDER BY step");
    let steps_before = env.sql(&steps_sql);
    assert_eq!(
        steps_before
            .lines()
            .map(|l| l.split('|').next().unwrap())
            .collect::<Vec<_>>(),
        vec!["render", "start"]
    );

    // 2. A fresh worker, without the pause, takes the job over once the dead one's lease expires.
    let mut second = env.command(&["work", "--until-idle", "--lease-secs", "2"]);
    // The workflow's own log lines show which stages were skipped.
    second.env("RUST_LOG", "countersign_workflow=info");
    let (mut second, stderr) = spawn(second);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = second.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the second worker did not finish within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The reader thread ends at EOF, which follows the exit.
    let log: String = stderr.iter().map(|l| l + "\n").collect();
    assert!(status.success(), "second worker: {status:?}\n{log}");
    for stage in ["start", "render"] {
        assert!(
            log.lines()
                .any(|l| l.contains("stage already done, skipping")
                    && l.contains(&format!("stage=\"{stage}\""))),
            "the second worker skipped {stage}\n{log}"
        );
    }

    // The job finished on its second attempt, each stage committed exactly once.
    assert_eq!(job("state, attempts"), "done|2");
    // `render` and `start` keep their original rows (not redone); `ocr` and `route` are added
    // by the second worker.
    let steps_after = env.sql(&steps_sql);
    let later = |l: &&str| l.starts_with("ocr|") || l.starts_with("route|");
    let kept: Vec<&str> = steps_after.lines().filter(|l| !later(l)).collect();
    assert_eq!(kept.join("\n"), steps_before, "no stage re-recorded");
    assert_eq!(steps_after.lines().filter(later).count(), 2);
    assert_eq!(
        env.sql(&format!(
            "SELECT COUNT(*) FROM ocr_pages WHERE document_id = '{id}'"
        )),
        "1",
        "the page was recognised once"
    );
    assert_eq!(
        env.sql(&format!(
            "SELECT COUNT(*) FROM pages WHERE document_id = '{id}'"
        )),
        "1"
    );
    // One audit entry per transition, in order and nothing else: ingest, received→processing,
    // processing→ocr_complete, ocr_complete→quarantined (a page of bars has no text).
    assert_eq!(
        env.sql(&format!(
            "SELECT quote(from_status) || '>' || to_status FROM audit_log \
             WHERE document_id = '{id}' ORDER BY seq"
        )),
        "NULL>received\n'received'>processing\n'processing'>ocr_complete\n'ocr_complete'>quarantined"
    );
    let shown = one_json_line(&env.run(&["show", &id, "--json"]));
    assert_eq!(shown["status"], "quarantined");
    assert_eq!(shown["document_type"], "unclassified");
    assert_eq!(shown["page_count"], 1);

    let verify = env.run(&["audit", "verify", "--json"]);
    assert!(verify.status.success(), "{}", describe(&verify));
    assert_eq!(one_json_line(&verify)["ok"], true);
}

/// "page recognised" log lines for `page` (1-based) in a worker's stderr.
fn recognised(log: &str, page: u32) -> usize {
    log.lines()
        .filter(|l| l.contains("page recognised") && l.contains(&format!(" page={page} ")))
        .count()
}

#[test]
fn a_worker_killed_in_the_middle_of_a_document_resumes_at_the_first_unread_page() {
    let env = Env::new();
    let pdf = support::corpus().join("pdf/ocrmypdf/multipage.pdf");
    let record = one_json_line(&env.run(&["ingest", arg(&pdf), "--json"]));
    let id = record["document_id"].as_str().unwrap().to_owned();

    // 1. A worker that stops after committing its second recognised page, killed there.
    let mut first = env.command(&["work", "--until-idle", "--lease-secs", "2"]);
    first
        .env("COUNTERSIGN_TEST_PAUSE_AFTER_OCR_PAGES", "2")
        .env("RUST_LOG", "countersign_workflow=info");
    let (mut first, stderr) = spawn(first);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut first_log = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match stderr.recv_timeout(left) {
            Ok(line) => {
                let paused = line.starts_with("paused after 2 recognised pages");
                first_log.push_str(&line);
                first_log.push('\n');
                if paused {
                    break;
                }
            }
            Err(_) => panic!("the worker never paused mid-OCR; its stderr:\n{first_log}"),
        }
    }
    assert_eq!(
        unsafe { libc::kill(first.0.id() as libc::pid_t, libc::SIGKILL) },
        0
    );
    first.0.wait().unwrap();
    let done_before: Vec<u32> = (1..=6)
        .filter(|&p| recognised(&first_log, p) == 1)
        .collect();
    assert_eq!(
        done_before.len(),
        2,
        "two pages read before the kill:\n{first_log}"
    );
    assert_eq!(
        env.sql(&format!(
            "SELECT COUNT(*) FROM ocr_pages WHERE document_id = '{id}'"
        )),
        "2",
        "both committed"
    );

    // 2. A fresh worker finishes the document, reading only the four pages not read yet.
    let mut second = env.command(&["work", "--until-idle", "--lease-secs", "2"]);
    second.env("RUST_LOG", "countersign_workflow=info");
    let (mut second, stderr) = spawn(second);
    let status = second.0.wait().unwrap();
    let second_log: String = stderr.iter().map(|l| l + "\n").collect();
    assert!(status.success(), "{second_log}");
    for page in 1..=6 {
        let before = recognised(&first_log, page);
        let after = recognised(&second_log, page);
        assert_eq!(
            before + after,
            1,
            "page {page} recognised exactly once (before the kill {before}, after {after})"
        );
    }
    assert_eq!(
        env.sql(&format!(
            "SELECT COUNT(*) FROM ocr_pages WHERE document_id = '{id}'"
        )),
        "6"
    );
    let shown = one_json_line(&env.run(&["show", &id, "--json"]));
    assert_eq!(shown["status"], "needs_review");
    assert_eq!(shown["page_count"], 6);
    assert!(env.run(&["audit", "verify"]).status.success());
}
