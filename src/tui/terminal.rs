//! The real terminal: raw mode, the alternate screen and mouse capture on the way in, and all
//! of it undone on every way out: quit, an error, a panic (a hook restores the terminal before
//! the message is printed), Ctrl-C (a key in raw mode), and SIGTERM, SIGHUP or SIGINT (a flag
//! the loop checks; a second signal ends the process at once). The image is read on a thread of
//! its own while a progress screen is shown; the first frame comes when the report exists.

use std::io::{self, IsTerminal, Stdout};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use signal_hook::SigId;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::action::Action;
use super::keys::action_for;
use super::state::ViewState;
use super::update::update;
use crate::report::Report;
use crate::source::Counters;

/// Puts the terminal back as it was. Safe to call more than once.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Holds the terminal in raw mode on the alternate screen, and the signal handlers, until
/// dropped.
struct Session {
    signals: Vec<SigId>,
}

impl Session {
    fn enter(signalled: &Arc<AtomicUsize>) -> Result<Session> {
        let mut signals = Vec::new();
        for sig in [SIGTERM, SIGHUP, SIGINT] {
            // The second signal ends the process the default way, should the loop be stuck.
            let flag = Arc::new(AtomicBool::new(false));
            signals.push(signal_hook::flag::register_conditional_default(
                sig,
                flag.clone(),
            )?);
            signals.push(signal_hook::flag::register(sig, flag)?);
            signals.push(signal_hook::flag::register_usize(
                sig,
                signalled.clone(),
                sig as usize,
            )?);
        }
        let session = Session { signals };
        // Once per process: a hook that restores the terminal while a session is active, then
        // lets the previous hook print the message on the normal screen.
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if ACTIVE.load(Ordering::SeqCst) {
                    restore();
                }
                previous(info);
            }));
        });
        ACTIVE.store(true, Ordering::SeqCst);
        watch_for_hangup();
        enable_raw_mode().context("cannot put the terminal in raw mode")?;
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
            .context("cannot switch to the alternate screen")?;
        Ok(session)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::SeqCst);
        restore();
        for id in self.signals.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Ends the process when the terminal goes away (its emulator or tmux server closed) without
/// a SIGHUP reaching us. A hung-up terminal is no longer a terminal, and crossterm's reader
/// then loops on end-of-file inside `event::poll` without ever returning, so the check has to
/// run beside the explorer's loop. There is nothing left to restore; 129 is 128 + SIGHUP.
fn watch_for_hangup() {
    let _ = std::thread::Builder::new()
        .name("pydive-hangup".into())
        .spawn(|| {
            while ACTIVE.load(Ordering::SeqCst) {
                if !io::stdout().is_terminal() {
                    std::process::exit(128 + SIGHUP);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
}

/// Whether the terminal is in the explorer's hands (for the panic hook).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Reads the image with `load` on a thread while showing progress, then runs the explorer
/// until the user quits. Returns the exit code: success, or 128 + the signal that stopped it.
pub fn run<F>(reference: String, load: F) -> Result<ExitCode>
where
    F: FnOnce(&Counters) -> Result<Report> + Send + 'static,
{
    let signalled = Arc::new(AtomicUsize::new(0));
    let session = Session::enter(&signalled)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let progress = Arc::new(Counters::default());
    let loader = {
        let progress = progress.clone();
        std::thread::Builder::new()
            .name("pydive-read".into())
            .spawn(move || load(&progress))?
    };
    let stopped = |signalled: &AtomicUsize| match signalled.load(Ordering::Relaxed) {
        0 => None,
        sig => Some(ExitCode::from(128u8.saturating_add(sig as u8))),
    };

    // Progress until the report exists.
    while !loader.is_finished() {
        terminal.draw(|f| {
            super::draw_loading(&reference, progress.snapshot(), f.area(), f.buffer_mut())
        })?;
        if let Some(code) = stopped(&signalled) {
            return Ok(code);
        }
        if event::poll(Duration::from_millis(100))? {
            let ev = event::read()?;
            if matches!(action_for(&ev, false), Some(Action::Quit | Action::Escape)) {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let report = loader
        .join()
        .map_err(|_| anyhow!("reading the image failed unexpectedly (a panic)"))?;
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            drop(session); // the error is printed on the normal screen
            return Err(e);
        }
    };

    let size = terminal.size()?;
    let mut state = ViewState::new(&report, size.width, size.height, super::color_wanted());
    let code = explore(&mut terminal, &report, &mut state, &signalled, stopped)?;
    drop(session);
    Ok(code)
}

fn explore(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    report: &Report,
    state: &mut ViewState,
    signalled: &AtomicUsize,
    stopped: impl Fn(&AtomicUsize) -> Option<ExitCode>,
) -> Result<ExitCode> {
    loop {
        terminal.draw(|f| super::draw(report, state, f.area(), f.buffer_mut()))?;
        // Test builds only: a way for the terminal test to check that a panic restores it.
        #[cfg(debug_assertions)]
        if std::env::var_os("PYDIVE_TEST_PANIC_AFTER_FIRST_FRAME").is_some() {
            panic!("a test panic after the first frame");
        }
        // Wait for an event (checking for signals now and then), then take every event
        // already queued before drawing again, so a held key never queues frames.
        loop {
            if let Some(code) = stopped(signalled) {
                return Ok(code);
            }
            if event::poll(Duration::from_millis(200))? {
                break;
            }
        }
        while event::poll(Duration::ZERO)? {
            let ev = event::read()?;
            if let Some(action) = action_for(&ev, state.filter_input.is_some()) {
                update(state, report, action);
            }
            if state.quit {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}
