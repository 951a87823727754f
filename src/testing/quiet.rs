//! Silence for the panics the kit catches on purpose: a projection that panics is run
//! hundreds of times while the kit shrinks its history, and each panic would print a message
//! (and a backtrace with `RUST_BACKTRACE=1`) before the one report the kit gives at the end.
//!
//! The panic hook is process-wide, and tests run on many threads at once, so the kit installs
//! one hook, once, that defers to the hook it replaced except on a thread that is inside
//! [`silenced`]: a panic of another test on another thread still prints as usual.

use std::cell::Cell;
use std::sync::Once;

thread_local! {
    /// How deep this thread is inside [`silenced`].
    static SILENT: Cell<u32> = const { Cell::new(0) };
}

static INSTALL: Once = Once::new();

/// Installs the hook (the first time only): silent on a thread inside [`silenced`], the
/// previous hook everywhere else.
fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if SILENT.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs `body` with this thread's panic messages silenced (panics still unwind as usual).
pub(crate) fn silenced<T>(body: impl FnOnce() -> T) -> T {
    install();
    /// Restores the depth even when `body` unwinds.
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            SILENT.with(|depth| depth.set(depth.get().saturating_sub(1)));
        }
    }
    SILENT.with(|depth| depth.set(depth.get() + 1));
    let _restore = Restore;
    body()
}
