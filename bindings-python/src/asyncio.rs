//! The bridge from Rust futures to asyncio awaitables.
//!
//! pyo3-async-runtimes (which DESIGN.md §2 names) lets tokio threads take the GIL while the
//! interpreter is finalizing, which aborts or segfaults short scripts at exit (its issue #40; we
//! saw it in about 40% of runs of the demo). This bridge keeps the same shape (an asyncio Future
//! resolved from a tokio task) with two rules that remove the race: every Python object a task
//! touches is created, used and dropped inside one GIL section at the end of the task, and an
//! `atexit` hook (`_drain`, registered by `polyauth/__init__.py`) waits for tasks in flight before
//! finalization starts.
//!
//! Work that calls back into Python (an application's account source, `SignIn`) is started with
//! [`spawn_calling_python`]: its task carries a [`CallContext`] (a tokio task-local) with the
//! event loop of the call, on which awaitables returned by the application run, and the
//! exception an application method raised, attached as `__cause__` of the error the call
//! raises. Those tasks take the GIL while they run (to call the application), which is safe for
//! the same reason: they are counted in flight, so `_drain` waits for them.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::errors::to_py;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
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

tokio::task_local! {
    static CALL: Arc<CallContext>;
}

/// What a task started by [`spawn_calling_python`] knows about the Python call that started it.
pub struct CallContext {
    /// The running event loop of the call (awaitables of the application run there).
    pub event_loop: Py<PyAny>,
    /// The exception an application method raised, with the message of the core error it
    /// became (`store_unavailable`): it becomes that error's `__cause__`.
    cause: Mutex<Option<(String, PyErr)>>,
}

impl CallContext {
    /// The context of the current task, when it was started by [`spawn_calling_python`].
    pub fn current() -> Option<Arc<CallContext>> {
        CALL.try_with(Arc::clone).ok()
    }

    /// Records `cause` as the origin of the core error whose message is `message`.
    pub fn set_cause(&self, message: String, cause: PyErr) {
        if let Ok(mut slot) = self.cause.lock() {
            *slot = Some((message, cause));
        }
    }

    /// The recorded cause, when `message` is the message of the error it was recorded for.
    fn take_cause(&self, message: &str) -> Option<PyErr> {
        let mut slot = self.cause.lock().ok()?;
        match slot.take() {
            Some((m, e)) if m == message => Some(e),
            _ => None,
        }
    }
}

/// Runs `fut` on the polyauth runtime and returns an asyncio Future for its result, converted
/// with `convert` under the GIL.
pub fn spawn<'py, T, F, C>(py: Python<'py>, fut: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = polyauth_core::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    launch(py, fut, convert, false)
}

/// [`spawn`] for work that calls back into Python: the task carries a [`CallContext`].
pub fn spawn_calling_python<'py, T, F, C>(
    py: Python<'py>,
    fut: F,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = polyauth_core::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    launch(py, fut, convert, true)
}

fn launch<'py, T, F, C>(
    py: Python<'py>,
    fut: F,
    convert: C,
    with_context: bool,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = polyauth_core::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let context = with_context.then(|| {
        Arc::new(CallContext {
            event_loop: event_loop.clone().unbind(),
            cause: Mutex::new(None),
        })
    });
    let handles = (event_loop.unbind(), py_future.clone().unbind());
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    runtime().spawn(async move {
        // A panic inside `fut` ends only the inner task; it surfaces as internal_error.
        let joined = match &context {
            Some(c) => tokio::spawn(CALL.scope(Arc::clone(c), fut)).await,
            None => tokio::spawn(fut).await,
        };
        let outcome = match joined {
            Ok(r) => r,
            Err(_) => Err(polyauth_core::Error::Internal(
                "internal error (a bug in polyauth; please report it)".into(),
            )),
        };
        Python::attach(|py| {
            let (event_loop, py_future) = handles;
            let raised = |e: polyauth_core::Error| {
                let message = e.to_string();
                let err = to_py(py, e);
                if let Some(cause) = context.as_ref().and_then(|c| c.take_cause(&message)) {
                    err.set_cause(py, Some(cause));
                }
                err
            };
            let (error, value) = match outcome.map_err(raised).and_then(|v| convert(py, v)) {
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
            // `event_loop`, `py_future`, the context and the values are dropped here, with the
            // GIL held.
            drop(context);
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
