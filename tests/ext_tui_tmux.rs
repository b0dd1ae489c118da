//! The real binary in a real terminal: `pydive IMAGE` runs inside tmux, keys go in with
//! `send-keys`, and the screen comes back with `capture-pane`. It navigates into a layer,
//! filters, and quits; and the terminal is restored (normal screen, canonical mode) after
//! `q`, Ctrl-C and SIGTERM. Needs tmux.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use pydive::fixture::Layout;

struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

/// After the explorer exits, the script prints its exit code and whether the terminal is back
/// in canonical mode (raw mode turns `icanon` off), then waits to be looked at.
const SCRIPT: &str = r#"#!/bin/sh
sh -c 'echo $$ > "$3"; exec "$1" "$2"' sh "$1" "$2" "$3"
echo "EXIT=$?"
stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon | sed 's/^/TTY=/'
sleep 600
"#;

impl Tmux {
    /// Starts pydive on the demo image (written as a `docker save` tarball) in a new tmux
    /// server of its own; None when tmux is missing.
    fn start(name: &str) -> Option<Tmux> {
        Tmux::start_on(name, |path| {
            pydive::demo::image()
                .write_docker_archive(path, Layout::DockerClassic)
                .unwrap();
        })
    }

    /// Starts pydive on whatever `write` puts at the image path.
    fn start_on(name: &str, write: impl Fn(&std::path::Path)) -> Option<Tmux> {
        Tmux::start_with(name, write, "")
    }

    /// The same, with environment assignments (`NAME=value ...`) for pydive.
    fn start_with(name: &str, write: impl Fn(&std::path::Path), env: &str) -> Option<Tmux> {
        common::services::need("tmux", common::services::runs(&["tmux", "-V"]))?;
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("image.tar");
        write(&image);
        let script = dir.path().join("run.sh");
        std::fs::write(&script, SCRIPT).unwrap();
        let t = Tmux {
            socket: format!("pydive-test-{}-{name}", std::process::id()),
            dir,
        };
        let command = format!(
            "env {env} sh {} {} {} {}",
            script.display(),
            env!("CARGO_BIN_EXE_pydive"),
            image.display(),
            t.pid_file().display()
        );
        let ok = t
            .tmux()
            .args(["new-session", "-d", "-x", "160", "-y", "40", "-s", "e2e"])
            .arg(command)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Some(t)
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c.env("NO_COLOR", "1");
        c
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.path().join("pid")
    }

    fn keys(&self, keys: &[&str]) {
        let ok = self
            .tmux()
            .args(["send-keys", "-t", "e2e"])
            .args(keys)
            .status()
            .unwrap()
            .success();
        assert!(ok, "send-keys {keys:?}");
    }

    /// Types text literally (no key names).
    fn type_text(&self, text: &str) {
        let ok = self
            .tmux()
            .args(["send-keys", "-t", "e2e", "-l", text])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "e2e"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alternate_screen(&self) -> bool {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "e2e", "#{alternate_on}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Waits until the screen satisfies `ready` (the binary reads, draws and reacts on its
    /// own time), and returns it; fails with the last screen after a generous timeout.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!("timed out waiting for {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> String {
        let start = Instant::now();
        loop {
            if let Ok(pid) = std::fs::read_to_string(self.pid_file()) {
                if !pid.trim().is_empty() {
                    return pid.trim().to_string();
                }
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no pid file");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

fn exited(screen: &str, code: i32) -> bool {
    screen.contains(&format!("EXIT={code}")) && screen.contains("TTY=")
}

fn assert_restored(t: &Tmux, screen: &str) {
    assert!(
        screen.contains("TTY=icanon"),
        "raw mode is off again:\n{screen}"
    );
    assert!(!t.alternate_screen(), "back on the normal screen");
    assert!(
        !screen.contains("Layers"),
        "nothing of the explorer is left:\n{screen}"
    );
}

#[test]
fn explore_a_layer_filter_and_quit() {
    let Some(t) = Tmux::start("explore") else {
        return;
    };
    let first = t.wait_for("the first frame", |s| s.contains("Layers 0/7"));
    assert!(first.contains("Files · layer 0 changes"), "{first}");
    assert!(t.alternate_screen());

    // Into layer 5 (pip install, after the four of the base and build-essential), then its
    // files.
    t.keys(&["j", "j", "j", "j", "j"]);
    t.wait_for("layer 5", |s| s.contains("Layers 5/7"));
    t.keys(&["Enter"]);
    let files = t.wait_for("layer 5's files", |s| {
        s.contains("Files · layer 5 changes") && s.contains("3f9c2e.body")
    });
    assert!(files.contains("pip-cache"), "{files}");
    assert!(
        !files.contains("bash"),
        "layer 0's files are not listed:\n{files}"
    );

    // Filter by path, as typed.
    t.keys(&["/"]);
    t.type_text("numpy.libs");
    let filtered = t.wait_for("the filter", |s| s.contains("/numpy.libs/ ·"));
    assert!(
        filtered.contains("libopenblas64_p-r0-0cf96a72.3.23.dev.so"),
        "{filtered}"
    );
    assert!(!filtered.contains("3f9c2e.body"), "{filtered}");
    assert!(!filtered.contains("_multiarray_umath"), "{filtered}");
    t.keys(&["Enter"]);

    t.keys(&["q"]);
    let after = t.wait_for("the exit", |s| exited(s, 0));
    assert_restored(&t, &after);
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let Some(t) = Tmux::start("ctrl-c") else {
        return;
    };
    t.wait_for("the first frame", |s| s.contains("Layers 0/7"));
    t.keys(&["/"]);
    t.type_text("abc");
    t.keys(&["C-c"]);
    let after = t.wait_for("the exit", |s| exited(s, 0));
    assert_restored(&t, &after);
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(t) = Tmux::start("sigterm") else {
        return;
    };
    t.wait_for("the first frame", |s| s.contains("Layers 0/7"));
    let pid = t.pid();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let after = t.wait_for("the exit", |s| exited(s, 128 + 15));
    assert_restored(&t, &after);
}

#[test]
fn an_unreadable_image_is_an_error_on_the_normal_screen() {
    let Some(t) = Tmux::start_on("error", |path| {
        std::fs::write(path, b"this is not a tarball").unwrap();
    }) else {
        return;
    };
    let after = t.wait_for("the exit", |s| exited(s, 2));
    assert!(after.contains("pydive: error:"), "{after}");
    assert_restored(&t, &after);
}

/// Test builds of pydive panic after the first frame when asked to (the variable does nothing
/// in release builds): the hook puts the terminal back before the message is printed.
#[test]
fn a_panic_restores_the_terminal_before_its_message() {
    let Some(t) = Tmux::start_with(
        "panic",
        |path| {
            pydive::demo::image()
                .write_docker_archive(path, Layout::DockerClassic)
                .unwrap();
        },
        "PYDIVE_TEST_PANIC_AFTER_FIRST_FRAME=1",
    ) else {
        return;
    };
    let after = t.wait_for("the exit", |s| exited(s, 101));
    assert!(
        after.contains("a test panic after the first frame"),
        "{after}"
    );
    assert_restored(&t, &after);
}

#[test]
fn closing_the_terminal_ends_the_explorer() {
    let Some(t) = Tmux::start("hangup") else {
        return;
    };
    t.wait_for("the first frame", |s| s.contains("Layers 0/7"));
    let pid = t.pid();
    // The terminal goes away with its tmux server, as when a window is closed.
    assert!(t.tmux().arg("kill-server").status().unwrap().success());
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
    let start = Instant::now();
    while proc_dir.exists() {
        let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        if state.contains(") Z ") {
            break; // exited, not yet reaped by its shell's parent
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "pydive is still running after its terminal closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
