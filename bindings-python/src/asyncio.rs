//! The bridge from Rust futures to asyncio awaitables.
//!
//! pyo3-async-runtimes (which DESIGN.md §2 names) lets tokio threads take the GIL while the
//! interpreter is finalizing, which aborts or segfaults short scripts at exit (its issue #40; we
//! saw it in about 40% of runs of the demo). This bridge keeps the same shape (an asyncio Future
//! resolved from a tokio task) with two rules that remove the race: every Python object a task
//! touches is created, used and dropped inside one GIL section at the end of the task, and an
//! `atexit` hook (`_drain`, registered by `polyauth/__init__.py`) waits for tasks in flight before
//! finalization starts.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::errors::to_py;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(
                std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .clamp(2, 8),
            )
            .thread_name("polyauth-io")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the polyauth I/O runtime: {e}"))
    })
}

static RESOLVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `polyauth._asyncio._resolve(future, error, value)`: sets the outcome unless the awaiting side
/// cancelled in the meantime.
fn resolver(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    RESOLVE
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("polyauth._asyncio")?
                    .getattr("_resolve")?
                    .unbind(),
            )
        })
        .map(|r| r.bind(py))
}

/// Runs `fut` on the polyauth runtime and returns an asyncio Future for its result, converted
/// with `convert` under the GIL.
pub fn spawn<'py, T, F, C>(py: Python<'py>, fut: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = polyauth_core::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let handles = (event_loop.unbind(), py_future.clone().unbind());
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    runtime().spawn(async move {
        // A panic inside `fut` ends only the inner task; it surfaces as internal_error.
        let outcome = match tokio::spawn(fut).await {
            Ok(r) => r,
            Err(_) => Err(polyauth_core::Error::Internal(
                "internal error (a bug in polyauth; please report it)".into(),
            )),
        };
        Python::attach(|py| {
            let (event_loop, py_future) = handles;
            let (error, value) = match outcome
                .map_err(|e| to_py(py, e))
                .and_then(|v| convert(py, v))
            {
                Ok(v) => (py.None(), v.unbind()),
                Err(e) => (e.into_value(py).into_any(), py.None()),
            };
            if let Ok(resolve) = resolver(py) {
                // A closed loop (the caller went away) raises here: nothing is waiting then.
                let _ = event_loop.call_method1(
                    py,
                    "call_soon_threadsafe",
                    (resolve, py_future, error, value),
                );
            }
            // `event_loop`, `py_future` and the values are dropped here, with the GIL held.
        });
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    });
    Ok(py_future)
}

/// Waits (with the GIL released) until no task is in flight, at most `timeout` seconds.
/// Registered with `atexit` so that finalization never races a task taking the GIL.
#[pyfunction]
#[pyo3(signature = (timeout=5.0))]
pub fn _drain(
    py: Python<'_>,
    // NaN, an infinity or a negative number is `InvalidInputError` (`Duration` would panic).
    #[pyo3(from_py_with = crate::convert::seconds_arg)] timeout: f64,
) -> PyResult<bool> {
    let deadline = Instant::now() + Duration::from_secs_f64(timeout.min(60.0));
    Ok(py.detach(|| {
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }))
}
